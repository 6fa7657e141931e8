"""The two lanes of a session: loading each side's model worker and stepping the items through them.

Split from :mod:`greentui.core.run.session`: :class:`LaneRunner` is the part of :class:`~greentui.core.run.session.
Session` that talks to the model workers (spawn and wait for both loads; send each item inside its own energy
window, relay its tokens, score what comes back; a failure or a time limit ends one lane, not the other). The
session itself prepares the configuration, opens measuring and emits the session's first and last events.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_connections
from typing import TYPE_CHECKING

from greentui.core.config import SessionConfig
from greentui.core.measure.measuring import Measuring, Window
from greentui.core.measure.meter import device_joules
from greentui.core.measure.served_energy import ServedEnergy
from greentui.core.models.spec import ModelSpec
from greentui.core.records import (
    Event,
    ItemScored,
    ItemStarted,
    ModelLoaded,
    ModelLoading,
    RunFailed,
    SessionStatus,
    Side,
    TokenEvent,
)
from greentui.core.run.control import RunControl
from greentui.core.run.schedule import schedule_order

if TYPE_CHECKING:
    from greentui.core.evaluate.tasks import Task, TaskItem
    from greentui.core.models.worker import Generated, ModelWorker, WorkerMessage
    from greentui.core.run.stopping import PairStopper

__all__ = ["Lane", "LaneRunner"]


@dataclass
class Lane:
    """One side of the race: its model spec, its worker, and the items it finished."""

    side: Side
    spec: ModelSpec
    worker: ModelWorker | None
    alive: bool = True
    loaded: bool = False
    done: set[str] = field(default_factory=set)

    @property
    def running(self) -> ModelWorker:
        """The lane's worker, once started (loading starts both before any message is read)."""
        if self.worker is None:
            raise RuntimeError(f"model {self.side}'s worker was never started")
        return self.worker


class LaneRunner(RunControl):
    """Loading and item stepping for :class:`~greentui.core.run.session.Session` (which sets these attributes)."""

    config: SessionConfig
    session_id: str
    task: Task | None
    _inline: bool
    _skip: dict[Side, set[str]]
    _specs: dict[Side, ModelSpec]
    _served: ServedEnergy
    _stopper: PairStopper | None
    _failures: dict[Side, str]

    @abstractmethod
    def _emit(self, event: Event) -> None:
        """Send ``event`` to the session's subscribers (:class:`~greentui.core.run.session.Session` does)."""

    def _loaded_task(self) -> Task:
        """The task :meth:`Session.prepare` loaded (run() prepares first, so it is there once items run)."""
        if self.task is None:
            raise RuntimeError("the session ran before its task was loaded")
        return self.task

    # ---- loading ----------------------------------------------------------------------------------------
    def _load_workers(self, lanes: dict[Side, Lane]) -> None:
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
                message = lanes[side].running.poll(0.05)
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

    def _fail(self, lane: Lane, failure: str, reason: str) -> None:
        """Mark one side dead and say why, in one line; the other side goes on."""
        lane.alive = False
        self._failures[lane.side] = f"model {lane.side} ({lane.spec}) {reason}"
        self._emit(
            RunFailed(side=lane.side, reason=self._failures[lane.side], failure=failure, t_mono_s=time.monotonic())
        )

    # ---- items -----------------------------------------------------------------------------------------------
    def _run_items(
        self, lanes: dict[Side, Lane], items: Sequence[TaskItem], measuring: Measuring
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

    def _run_step(
        self, lanes: dict[Side, Lane], work: Iterable[tuple[Side, TaskItem, int]], measuring: Measuring
    ) -> None:
        """Run one step: each (side, item) pair inside its own energy window; pairs in a step run at once."""
        from greentui.core.models.worker import Generated, GenerateRequest, Token, WorkerFailed

        task = self._loaded_task()
        config = self.config
        in_flight: dict[Side, tuple[TaskItem, int, str, float]] = {}
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
                reuse_prefix=config.prompt_cache,
            )
            started = time.monotonic()
            self._emit(ItemStarted(side=side, item_id=item.id, index=idx, prompt=item.question, t_mono_s=started))
            measuring.begin(key, side)
            lanes[side].running.generate(request)
            in_flight[side] = (item, idx, key, started)
        deadline = time.monotonic() + config.item_timeout_s
        while in_flight:
            if self.stop_now_requested:  # the items in flight are abandoned; the workers stop in run()
                raise KeyboardInterrupt(self.stop_reason)
            messages = self._next_messages(lanes, list(in_flight))
            if not messages and time.monotonic() > deadline:
                for side in list(in_flight):
                    measuring.discard(in_flight.pop(side)[2])
                    lanes[side].running.stop(timeout_s=1)
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
    def _next_messages(lanes: dict[Side, Lane], sides: list[Side]) -> list[tuple[Side, WorkerMessage]]:
        """The next message of each side that has one, waiting at most ~0.1 s (a dead process reads as ready)."""
        workers = [lanes[side].running for side in sides]
        connections = [w.connection() for w in workers]
        if any(c is None for c in connections):  # inline (thread) workers have no pipe: poll them in turn
            found = [(side, w.poll(0.05 / len(sides))) for side, w in zip(sides, workers)]
        else:
            ready = wait_connections([c for c in connections if c is not None], timeout=0.1)
            found = [(side, w.poll(0)) for side, w, c in zip(sides, workers, connections) if c in ready]
        return [(side, message) for side, message in found if message is not None]

    def _scored(self, side: Side, item: TaskItem, idx: int, generated: Generated, window: Window) -> ItemScored:
        result = self._loaded_task().score(item, generated.text)
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
