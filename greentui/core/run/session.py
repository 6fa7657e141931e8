"""One head-to-head session: two model workers, the power sampler and the meter, turned into one event stream.

``Session.run()`` is blocking: the CLI calls it on the main thread, the TUI in a thread worker. Subscribers are
called from the session thread and from the sampler thread, so they must be thread-safe (the store writer queues,
the TUI bridge buffers under a lock).

Measurement semantics (DESIGN section 3): by default items run in ``alternate`` (ABBA) order, one model active at
a time, each item inside its own energy window, because NVML and RAPL measure whole devices and cannot tell two
models on one device apart.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_connections
from typing import Any

from greentui.core.measure.measuring import Measuring, Window
from greentui.core.measure.meter import device_joules
from greentui.core.measure.served_energy import ServedEnergy
from greentui.core.models.spec import ModelSpec, SpecError
from greentui.core.records import (
    SIDES,
    Event,
    IdleMeasured,
    ItemScored,
    ItemStarted,
    ModelLoaded,
    ModelLoading,
    PowerSampled,
    RunFailed,
    Schedule,
    SessionFinished,
    SessionStarted,
    SessionStatus,
    Side,
    TokenEvent,
)
from greentui.core.run import stopping
from greentui.core.run.control import RunControl
from greentui.core.run.schedule import SCHEDULES, schedule_order
from greentui.core.verdict.model import DEFAULT_ALPHA, DEFAULT_DELTA
from greentui.core.verdict.sequential import StoppingError


class SessionError(ValueError):
    """Bad configuration found before any work starts (unknown task, bad spec, unusable power source)."""


@dataclass(frozen=True)
class SessionConfig:
    """Everything that defines a session; stored with it so that it can be shown, resumed and repeated."""

    model_a: str
    model_b: str
    task: str
    limit: int | None = None
    schedule: Schedule = "alternate"
    power_source: str = "auto"
    sample_hz: float = 10.0
    idle_s: float = 3.0
    country: str | None = None
    grid_intensity: float | None = None
    pue: float = 1.0
    codecarbon: bool = False
    scorer: str | None = None  # for a quick task given as a .jsonl file
    seed: int | None = None  # None: greedy decoding; an int: seeded sampling
    max_new_tokens: int | None = None  # None: the task's own limit
    fixed_length: bool = False  # every answer exactly max_new_tokens long (eos, stop strings ignored): benchmarks
    load_timeout_s: float = 900.0
    item_timeout_s: float = 600.0
    trust_remote_code: bool = False
    stop_on_failure: bool = False
    training_emissions_g: float | None = None
    amortize_answers: float | None = None
    requests_per_day: float = 1e6
    sweep_id: str | None = None  # the sweep's name when the session is part of one (greentui sweep)
    sweep_key: str | None = None  # its content hash inside that sweep (core.run.sweep.content_key)
    # Stopping when settled (core/run/stopping.py): the rule's level, equivalence margin (a fraction: 0.05 = 5
    # points) and item cap, declared before the run; items run in the order seeded by order_seed (None: file
    # order, unless stopping draws one, stored with the session).
    stop_when_settled: bool = False
    alpha: float = DEFAULT_ALPHA
    delta: float = DEFAULT_DELTA
    max_items: int | None = None
    order_seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class _Lane:
    side: Side
    spec: ModelSpec
    worker: Any  # ModelWorker
    alive: bool = True
    loaded: bool = False
    done: set[str] = field(default_factory=set)


class Session(RunControl):
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
        self.task: Any = None
        self._lanes: dict[Side, _Lane] = {}
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
        specs = {}
        for side, text in (("A", config.model_a), ("B", config.model_b)):
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
        config, task = self.config, self.task
        items = stopping.run_items(task.items, config)
        self._stopper = stopping.PairStopper.for_config(config, len(task.items), len(items))
        if self._stopper is not None:
            for done in sorted(self._prior, key=lambda item: (item.index, item.side)):
                self._stopper.observe(done)
        lanes = self._lanes = {side: _Lane(side, self._specs[side], None) for side in SIDES}
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

        settings = config.to_dict()
        fingerprint = hardware_fingerprint()
        settings.update(
            task_info={
                "id": task.id,
                "name": task.name,
                "version": task.version,
                "category": task.category,
                "metric": task.metric,
                "baseline": task.baseline,
                "continuous": task.continuous,
                "scorer": task.scorer,
            },
            task_version=task.version,
            host=socket.gethostname(),
            pid=os.getpid(),
            power_statuses=[dataclasses.asdict(s) for s in measuring.statuses],
            grid_warnings=measuring.grid_warnings,
            fingerprint=fingerprint,
            fingerprint_key=fingerprint_key(fingerprint),
            served_energy=served.settings(),
        )
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

    # ---- loading ----------------------------------------------------------------------------------------
    def _load_workers(self, lanes: dict[Side, _Lane]) -> None:
        """Spawn both workers and wait until each has loaded or failed (they load at the same time)."""
        from greentui.core.models.worker import Loaded, LoadProgress, ModelWorker, WorkerFailed

        self._failures: dict[Side, str] = {}
        for lane in lanes.values():
            lane.worker = ModelWorker(
                lane.side,
                lane.spec,
                load_timeout_s=self.config.load_timeout_s,
                trust_remote_code=self.config.trust_remote_code,
                inline=self._inline,
                session_id=self.session_id,
            )
            lane.worker.start()
        pending = set(lanes)
        while pending:
            if self.stop_requested:
                raise KeyboardInterrupt(self.stop_reason)
            for side in list(pending):
                message = lanes[side].worker.poll(0.05)
                if message is None:
                    continue
                if isinstance(message, LoadProgress):
                    self._emit(ModelLoading(side, message.stage, message.fraction, message.t_mono_s))
                elif isinstance(message, Loaded):
                    info = message.info
                    lanes[side].loaded = True
                    pending.discard(side)
                    self._emit(
                        ModelLoaded(
                            side=side,
                            spec=str(lanes[side].spec),
                            display_name=info.display_name,
                            params_total=info.params_total,
                            params_trainable=info.params_trainable,
                            weight_bytes=info.weight_bytes,
                            dtype=info.dtype,
                            quant=info.quant,
                            device=info.device,
                            load_s=info.load_s,
                            peak_rss_bytes=info.peak_rss_bytes,
                            peak_cuda_bytes=info.peak_cuda_bytes,
                            t_mono_s=time.monotonic(),
                            has_adapter=lanes[side].spec.adapter is not None,
                            base_spec=str(lanes[side].spec.base()),
                            provenance=info.provenance,
                        )
                    )
                elif isinstance(message, WorkerFailed):
                    pending.discard(side)
                    self._fail(lanes[side], message.failure, f"could not be loaded: {message.reason}")

    def _fail(self, lane: _Lane, failure: str, reason: str) -> None:
        """Mark one side dead and say why, in one line; the other side goes on."""
        lane.alive = False
        self._failures[lane.side] = f"model {lane.side} ({lane.spec}) {reason}"
        self._emit(
            RunFailed(side=lane.side, reason=self._failures[lane.side], failure=failure, t_mono_s=time.monotonic())
        )

    # ---- items -----------------------------------------------------------------------------------------------
    def _run_items(
        self, lanes: dict[Side, _Lane], items: Sequence[Any], measuring: Measuring
    ) -> tuple[SessionStatus, str]:
        if self._stopper is not None and self._stopper.should_stop:  # a resumed session that had already settled
            return "completed", self._stopper.reason()
        for step in schedule_order(len(items), self.config.schedule):
            self.wait_while_paused()
            if self.stop_requested:
                return "interrupted", self.stop_reason or "stopped by the user"
            todo = [(side, idx) for side, idx in step if lanes[side].alive and items[idx].id not in self._skip[side]]
            if not todo:
                continue
            self._run_step(lanes, [(side, items[idx], idx) for side, idx in todo], measuring)
            if self._stopper is not None and self._stopper.should_stop:
                return "completed", self._stopper.reason()
            failed = [lane for lane in lanes.values() if not lane.alive]
            if failed and (self.config.stop_on_failure or len(failed) == 2):
                break
        failed = [lane for lane in lanes.values() if not lane.alive]
        if failed:
            return "failed", "; ".join(self._failures[lane.side] for lane in failed)
        if self.stop_requested:
            return "interrupted", self.stop_reason or "stopped by the user"
        return "completed", ""

    def _run_step(self, lanes: dict[Side, _Lane], work: Iterable[tuple[Side, Any, int]], measuring: Measuring) -> None:
        """Run one step: each (side, item) pair inside its own energy window; pairs in a step run at once."""
        from greentui.core.models.worker import Generated, GenerateRequest, Token, WorkerFailed

        task = self.task
        config = self.config
        in_flight: dict[Side, tuple[Any, int, str, float]] = {}
        for side, item, idx in work:
            key = f"{side}:{item.id}"
            request = GenerateRequest(
                request_id=key,
                prompt=task.build_prompt(item),
                max_new_tokens=task.max_new_tokens if config.max_new_tokens is None else config.max_new_tokens,
                stop=tuple(task.stop),
                seed=config.seed,
                hint=item.reference,
                fixed_length=config.fixed_length,
            )
            started = time.monotonic()
            self._emit(ItemStarted(side=side, item_id=item.id, index=idx, prompt=item.question, t_mono_s=started))
            measuring.begin(key, side)
            lanes[side].worker.generate(request)
            in_flight[side] = (item, idx, key, started)
        deadline = time.monotonic() + config.item_timeout_s
        while in_flight:
            if self.stop_now_requested:  # the items in flight are abandoned; the workers stop in run()
                raise KeyboardInterrupt(self.stop_reason)
            messages = self._next_messages(lanes, list(in_flight))
            if not messages and time.monotonic() > deadline:
                for side in list(in_flight):
                    measuring.discard(in_flight.pop(side)[2])
                    lanes[side].worker.stop(timeout_s=1)
                    self._fail(lanes[side], "timeout", f"took longer than {config.item_timeout_s:.0f} s on one item")
                return
            for side, message in messages:
                item, idx, key, started = in_flight[side]
                if isinstance(message, Token):
                    self._emit(
                        TokenEvent(
                            side=side,
                            item_id=item.id,
                            text=message.text,
                            n_tokens=message.n_tokens,
                            t_mono_s=message.t_mono_s,
                        )
                    )
                elif isinstance(message, Generated):
                    window = measuring.end(key)
                    del in_flight[side]
                    scored = self._scored(side, item, idx, message, window)
                    self._emit(scored)
                    check = self._stopper.observe(scored) if self._stopper is not None else None
                    if check is not None:
                        self._emit(check)
                elif isinstance(message, WorkerFailed):
                    measuring.discard(key)
                    del in_flight[side]
                    self._fail(lanes[side], message.failure, f"failed on item {item.id}: {message.reason}")

    @staticmethod
    def _next_messages(lanes: dict[Side, _Lane], sides: list[Side]) -> list[tuple[Side, Any]]:
        """The next message of each side that has one, waiting at most ~0.1 s (a dead process reads as ready)."""
        workers = [lanes[side].worker for side in sides]
        connections = [w.connection() for w in workers]
        if any(c is None for c in connections):  # inline (thread) workers have no pipe: poll them in turn
            found = [(side, w.poll(0.05 / len(sides))) for side, w in zip(sides, workers)]
        else:
            ready = wait_connections(connections, timeout=0.1)
            found = [(side, w.poll(0)) for side, w, c in zip(sides, workers, connections) if c in ready]
        return [(side, message) for side, message in found if message is not None]

    def _scored(self, side: Side, item: Any, idx: int, generated: Any, window: Window) -> ItemScored:
        result = self.task.score(item, generated.text)
        measurement = self._served.item_measurement(side, window.measurement)  # a server elsewhere: not here
        measured_here = measurement is window.measurement
        joules = window.joules if measured_here else measurement.joules
        if self.config.schedule == "parallel":  # both models ran at once, each on its own device
            joules = device_joules(measurement, self._specs[side].device)
        ttft = (
            generated.first_token_mono_s - generated.started_mono_s
            if generated.first_token_mono_s is not None
            else None
        )
        return ItemScored(
            side=side,
            item_id=item.id,
            index=idx,
            prompt=item.question,
            output=generated.text,
            answer=result.answer,
            reference=item.reference,
            score=result.score,
            tokens_in=generated.tokens_in,
            tokens_out=generated.tokens_out,
            ttft_s=ttft,
            seconds=measurement.seconds,
            joules=joules,
            energy_quality=measurement.quality,
            energy_source=measurement.source,
            energy_flagged=measurement.flagged_short,
            started_mono_s=measurement.start_mono_s,
            first_token_mono_s=generated.first_token_mono_s,
            last_token_mono_s=generated.last_token_mono_s,
            ended_mono_s=measurement.end_mono_s,
            stop_reason=generated.stop_reason,
            measurement_method=measurement.method,
            energy_scope=window.scope if measured_here else None,
            joules_machine=window.joules_machine if measured_here else None,
            contention_share=window.other_cpu_share,
            contended=window.contended,
            gpu_other_processes=window.gpu_other_processes,
            gpu_temperature_c=window.gpu_temperature_c,
            score_detail=result.detail,
            tokens_counted_by=generated.tokens_counted_by,
        )


def _different_devices(a: ModelSpec, b: ModelSpec) -> bool:
    """True when two specs name distinct, explicit devices (``auto`` could put both on one GPU)."""
    return a.device != "auto" and b.device != "auto" and a.device != b.device


def _gpu_indices(specs: Iterable[Any]) -> list[int]:
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
