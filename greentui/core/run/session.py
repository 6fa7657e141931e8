"""One head-to-head session: two model workers, the power sampler and the meter, turned into one event stream.

``Session.run()`` is blocking: the CLI calls it on the main thread, the TUI in a thread worker. Subscribers are
called from the session thread and from the sampler thread, so they must be thread-safe (the store writer queues,
the TUI bridge buffers under a lock).

Measurement semantics (DESIGN section 3): by default items run in ``alternate`` (ABBA) order, one model active at
a time, each item inside its own energy window, because NVML and RAPL measure whole devices and cannot tell two
models on one device apart.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from greentui.core.config import SessionConfig, TaskInfo
from greentui.core.convert import to_plain
from greentui.core.measure.measuring import Measuring
from greentui.core.measure.served_energy import ServedEnergy
from greentui.core.models.spec import ModelSpec, SpecError
from greentui.core.records import (
    SIDES,
    Event,
    IdleMeasured,
    ItemScored,
    PowerSampled,
    SessionFinished,
    SessionStarted,
    SessionStatus,
    Side,
)
from greentui.core.run import stopping
from greentui.core.run.lanes import Lane, LaneRunner
from greentui.core.run.schedule import SCHEDULES
from greentui.core.verdict.sequential import StoppingError

if TYPE_CHECKING:
    from greentui.core.evaluate.tasks import Task

__all__ = ["Session", "SessionConfig", "SessionError", "new_session_id"]


class SessionError(ValueError):
    """Bad configuration found before any work starts (unknown task, bad spec, unusable power source)."""


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


class Session(LaneRunner):
    """Runs model A and model B on the same task items and emits events. See the module docstring."""

    def __init__(
        self,
        config: SessionConfig,
        *,
        session_id: str | None = None,
        skip_items: dict[Side, set[str]] | None = None,
        inline_workers: bool = False,
        prior_items: Sequence[ItemScored] = (),
    ) -> None:
        self.config = config
        self.session_id = session_id or new_session_id()
        self._skip = skip_items or {"A": set(), "B": set()}
        self._prior = prior_items  # a resumed session's finished items: the stopping rule starts from their pairs
        self._inline = inline_workers
        super().__init__()
        self._handlers: list[Callable[[Event], None]] = []
        self.status: SessionStatus | None = None
        self.task: Task | None = None
        self._lanes: dict[Side, Lane] = {}
        self._measuring: Measuring | None = None  # the one door to measuring, open while run() runs
        self._served = ServedEnergy({})
        self._stopper: stopping.PairStopper | None = None

    def request_stop(self, reason: str = "", *, now: bool = False) -> None:
        super().request_stop(reason, now=now)
        measuring = self._measuring
        if measuring is not None:  # cuts the idle baseline short
            measuring.cancel_idle()

    # ---- subscribers (called from the session and sampler threads) and control (see RunControl) ------------
    def subscribe(self, handler: Callable[[Event], None]) -> None:
        self._handlers.append(handler)

    def worker_pids(self) -> dict[Side, int | None]:
        """Process ids of the model workers (None before start, for inline workers, or after they ended)."""
        return {side: lane.worker.pid if lane.worker is not None else None for side, lane in self._lanes.items()}

    def _emit(self, event: Event) -> None:
        for handler in list(self._handlers):
            handler(event)

    # ---- preparation --------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Check everything that can be checked without loading a model; raises SessionError with one line."""
        from greentui.core.evaluate.tasks import TaskError, load_task

        config = self.config
        if config.schedule not in SCHEDULES:
            raise SessionError(f"unknown schedule {config.schedule!r}: choose one of {', '.join(SCHEDULES)}")
        specs: dict[Side, ModelSpec] = {}
        sides: tuple[tuple[Side, str], ...] = (("A", config.model_a), ("B", config.model_b))
        for side, text in sides:
            try:
                specs[side] = ModelSpec.parse(text)
            except SpecError as exc:
                raise SessionError(f"model {side}: {exc}") from None
        if config.schedule == "parallel" and not _different_devices(specs["A"], specs["B"]):
            raise SessionError(
                "schedule parallel needs the two models on different devices (e.g. @cuda:0 and @cuda:1): "
                "the energy of one device cannot be split between two models running on it at once; "
                "use --schedule alternate"
            )
        try:
            self.task = load_task(config.task, scorer=config.scorer)
        except TaskError as exc:
            raise SessionError(str(exc)) from None
        if config.limit is not None and config.limit < 1:
            raise SessionError(f"--limit must be at least 1, not {config.limit}")
        if config.max_new_tokens is not None and config.max_new_tokens < 1:
            raise SessionError(f"--max-new-tokens must be at least 1, not {config.max_new_tokens}")
        try:
            stopping.check_config(config)
        except StoppingError as exc:
            raise SessionError(str(exc)) from None
        self.config = config = stopping.with_order_seed(config)  # the drawn seed is stored with the session
        from greentui.core.measure.carbon import CarbonError, grid_intensity

        try:  # impossible numbers (PUE below 1, negative intensity) are refused before any model loads
            grid_intensity(config.country, config.grid_intensity, config.pue)
        except CarbonError as exc:
            raise SessionError(str(exc)) from None
        self._specs = specs

    # ---- the run --------------------------------------------------------------------------------------
    def run(self) -> SessionStatus:
        """Run the whole session; returns its final status. Ctrl-C (KeyboardInterrupt) ends it as interrupted."""
        from greentui.core.measure.fingerprint import fingerprint_key, hardware_fingerprint
        from greentui.core.measure.measuring import MeasuringError, MeasuringSettings

        if self.task is None:
            self.prepare()
        config, task = self.config, self._loaded_task()
        items = stopping.run_items(task.items, config)
        self._stopper = stopping.PairStopper.for_config(config, len(task.items), len(items))
        if self._stopper is not None:
            for done in sorted(self._prior, key=lambda item: (item.index, item.side)):
                self._stopper.observe(done)
        lanes = self._lanes = {side: Lane(side, self._specs[side], None) for side in SIDES}
        served = self._served = ServedEnergy.locate(self._specs)  # a served lane: where its server works
        try:
            measuring = self._measuring = Measuring(
                MeasuringSettings(
                    power_source=config.power_source,
                    sample_hz=config.sample_hz,
                    country=config.country,
                    grid_intensity=config.grid_intensity,
                    pue=config.pue,
                    codecarbon=config.codecarbon,
                ),
                side_pids={side: self._side_pids(side) for side in SIDES},
                gpu_indices=served.gpu_indices(_gpu_indices(self._specs.values())),
                on_sample=lambda sample: self._emit(PowerSampled(sample)),
            )
        except MeasuringError as exc:
            raise SessionError(str(exc)) from None
        grid = measuring.grid

        fingerprint = hardware_fingerprint()
        settings: dict[str, Any] = {  # the extra facts; the task and the config travel typed
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "power_statuses": to_plain(list(measuring.statuses)),
            "grid_warnings": measuring.grid_warnings,
            "fingerprint": fingerprint,
            "fingerprint_key": fingerprint_key(fingerprint),
            "served_energy": served.settings(),
        }
        if task.scorer == "code_pass_at_1":  # how model code is confined here ("isolated: ..." / "limited ...")
            from greentui.core.evaluate.sandbox.isolation import current as sandbox_isolation

            settings["sandbox"] = sandbox_isolation().describe()
        if self._stopper is not None:
            settings[stopping.SETTINGS_KEY] = self._stopper.settings()
        self._emit(
            SessionStarted(
                session_id=self.session_id,
                task_id=task.id,
                task_name=task.name,
                n_items=len(items),
                schedule=config.schedule,
                model_a=str(self._specs["A"]),
                model_b=str(self._specs["B"]),
                power_sources=measuring.power_sources,
                power_quality=measuring.power_quality,
                power_note=measuring.power_note,
                grid=grid,
                started_unix_s=time.time(),
                t_mono_s=time.monotonic(),
                task=TaskInfo(
                    id=task.id,
                    name=task.name,
                    version=task.version,
                    category=task.category,
                    metric=task.metric,
                    baseline=task.baseline,
                    continuous=task.continuous,
                    scorer=task.scorer,
                ),
                config=config,
                settings=settings,
            )
        )
        status: SessionStatus = "completed"
        reason = ""
        measurements: dict[str, Any] = {}
        measuring.start()
        try:
            self._load_workers(lanes)
            failed = [lane for lane in lanes.values() if not lane.alive]
            # as --stop-on-failure's help says: by default the model that loaded runs its items alone
            if len(failed) == len(lanes) or (failed and config.stop_on_failure):
                status = "failed"
                reason = "; ".join(self._failures[lane.side] for lane in failed)
            else:
                idle = measuring.idle_baseline(0 if self.stop_requested else config.idle_s)
                self._emit(
                    IdleMeasured(
                        seconds=idle.seconds,
                        joules=idle.joules,
                        power_w=idle.power_w,
                        quality=idle.measurement.quality,
                        source=idle.measurement.source,
                        t_mono_s=time.monotonic(),
                        contention_share=idle.other_cpu_share,
                        contended=idle.contended,
                    )
                )
                measuring.start_run()
                status, reason = self._run_items(lanes, items, measuring)
        except KeyboardInterrupt as exc:  # Ctrl-C, or a stop asked "now" (SIGTERM, SIGHUP: see greentui.signals)
            status, reason = "interrupted", str(exc) or self.stop_reason or "stopped with Ctrl-C"
        except Exception as exc:  # an unexpected engine error must still close the session cleanly
            status, reason = "failed", f"internal error: {type(exc).__name__}: {exc}"
        finally:
            for lane in lanes.values():
                if lane.worker is not None:
                    lane.worker.stop()
            measurements = measuring.finish()
            self.status = status
            self._emit(
                SessionFinished(
                    status=status,
                    reason=reason,
                    t_mono_s=time.monotonic(),
                    ended_unix_s=time.time(),
                    measurements=measurements,
                )
            )
        return status

    def _side_pids(self, side: Side) -> Callable[[], list[int]]:
        """The root pids of one side's processes, for the contention and the CPU estimate's attribution: its
        worker process (greentui's own process for an inline worker, in tests), or for a served lane its server's
        processes when the server runs here (none when it runs elsewhere: see ServedEnergy)."""

        def pids() -> list[int]:
            lane = self._lanes.get(side)
            if lane is None or lane.worker is None:
                return []
            pid = lane.worker.pid or (os.getpid() if self._inline else None)
            return self._served.pids_by_side({side: pid})[side]

        return pids


def _different_devices(a: ModelSpec, b: ModelSpec) -> bool:
    """True when two specs name distinct, explicit devices (``auto`` could put both on one GPU)."""
    return a.device != "auto" and b.device != "auto" and a.device != b.device


def _gpu_indices(specs: Iterable[ModelSpec]) -> list[int]:
    """CUDA device indices the in-process models will use (``cuda`` and ``auto`` mean device 0 when a GPU exists)."""
    indices: set[int] = set()
    for spec in specs:
        if spec.endpoint is not None:  # a served model: its server's GPUs (core.measure.served_energy)
            continue
        device = spec.device
        if device.startswith("cuda:"):
            indices.add(int(device.split(":", 1)[1]))
        elif device in ("cuda", "auto"):
            indices.add(0)
    return sorted(indices)
