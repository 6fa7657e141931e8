"""A short fixed-length race through greentui's own session engine, summarised for the kit's JSON.

The models have random weights (``random:NAME`` specs): real compute and energy per token, meaningless answers.
So the summary keeps what the hardware decides -- energy per item and per token, how many windows were flagged
short, time to first token, decode speed, the run's total from the GPU's energy counter against the sum of the
items -- and leaves out everything the answers decide: no score, no answer, no output text.

The counter total is read by the kit itself (``read_counter``), independently of the session's sources: once
when the idle baseline ends (the items start right after) and after every finished item; the last reading closes
the span. The items' windows cover the generation only, so their sum is a little below the span's total (the
gaps between items: scoring, process round trips); a sum *above* the total means double counting.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greentui.core.figures import SideFigures
from greentui.core.records import (
    Event,
    IdleMeasured,
    ItemScored,
    ModelLoaded,
    RunFailed,
    SessionFinished,
    SessionStarted,
)
from greentui.core.run.session import Session, SessionConfig, SessionError

GRID_G_PER_KWH = 400.0  # any figure: no carbon is reported, and an explicit one keeps codecarbon out of the kit


@dataclass(frozen=True)
class RacePlan:
    """One session: two specs on one task, ``items`` items each, every answer exactly ``max_new_tokens`` long."""

    name: str
    model_a: str
    model_b: str
    items: int
    max_new_tokens: int
    task: str = "arithmetic"
    idle_s: float = 2.0
    sample_hz: float = 20.0
    # "nvml" on a GPU: the items' energy is then the GPU's alone, comparable with the GPU's own counter ("auto"
    # would add RAPL's CPU package energy where the machine exposes it)
    power_source: str = "auto"

    def config(self) -> SessionConfig:
        return SessionConfig(
            model_a=self.model_a,
            model_b=self.model_b,
            task=self.task,
            limit=self.items,
            idle_s=self.idle_s,
            sample_hz=self.sample_hz,
            power_source=self.power_source,
            grid_intensity=GRID_G_PER_KWH,
            max_new_tokens=self.max_new_tokens,
            fixed_length=True,
            load_timeout_s=600.0,
            item_timeout_s=300.0,
        )


@dataclass
class RaceRecorder:
    """Subscriber that keeps the events the summary needs and reads the counter at the span's edges."""

    read_counter: Callable[[], float | None] | None = None
    clock: Callable[[], float] = time.monotonic
    events: list[Event] = field(default_factory=list)
    counter_start: tuple[float, float] | None = None  # (t_mono_s, joules) when the items began
    counter_last: tuple[float, float] | None = None  # after the last finished item
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: Event) -> None:
        if not isinstance(
            event, SessionStarted | ModelLoaded | IdleMeasured | ItemScored | RunFailed | SessionFinished
        ):
            return  # tokens and power samples: the session keeps them, the summary does not need them
        reading = self._read() if isinstance(event, IdleMeasured | ItemScored) else None
        with self._lock:
            self.events.append(event)
            if reading is not None:
                if isinstance(event, IdleMeasured):
                    self.counter_start, self.counter_last = reading, None
                else:
                    self.counter_last = reading

    def _read(self) -> tuple[float, float] | None:
        if self.read_counter is None:
            return None
        joules = self.read_counter()
        return None if joules is None else (self.clock(), joules)


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 4) if known else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _item(event: ItemScored) -> dict[str, Any]:
    return {
        "item_id": event.item_id,
        "joules": _round(event.joules),
        "seconds": _round(event.seconds),
        "tokens_in": event.tokens_in,
        "tokens_out": event.tokens_out,
        "ttft_s": _round(event.ttft_s),
        "decode_tokens_per_s": _round(event.decode_tokens_per_s, 2),
        "flagged_short": event.energy_flagged,
        "energy_source": event.energy_source,
        "energy_quality": event.energy_quality,
    }


def _side(side: str, events: Sequence[Event]) -> dict[str, Any]:
    loaded = next((e for e in events if isinstance(e, ModelLoaded) and e.side == side), None)
    items = [e for e in events if isinstance(e, ItemScored) and e.side == side]
    failure = next((e.reason for e in events if isinstance(e, RunFailed) and e.side == side), None)
    joules = [e.joules for e in items if e.joules is not None]
    total = sum(joules) if joules else None
    figures = SideFigures()  # J/token as everywhere else: energy and tokens of the items that have both
    for e in items:
        figures.add(e)
    return {
        "model": None
        if loaded is None
        else {
            "spec": loaded.spec,
            "display_name": loaded.display_name,
            "dtype": loaded.dtype,
            "quant": loaded.quant,
            "device": loaded.device,
            "params_total": loaded.params_total,
            "weight_bytes": loaded.weight_bytes,
            "load_s": _round(loaded.load_s, 2),
            "peak_cuda_bytes": loaded.peak_cuda_bytes,
        },
        "failure": failure,
        "n_items": len(items),
        "items_without_energy": len(items) - len(joules),
        "joules_total": _round(total, 3),
        "joules_per_item_median": _median([e.joules for e in items]),
        "joules_per_token": _round(figures.joules_per_token, 5),
        "flagged_short": sum(1 for e in items if e.energy_flagged),
        "flagged_share": round(sum(1 for e in items if e.energy_flagged) / len(items), 3) if items else None,
        "ttft_s_median": _median([e.ttft_s for e in items]),
        "decode_tokens_per_s_median": _median([e.decode_tokens_per_s for e in items]),
        "tokens_out": sorted({e.tokens_out for e in items if e.tokens_out is not None}),
        "items": [_item(e) for e in items],
    }


def summarize(plan: RacePlan, recorder: RaceRecorder) -> dict[str, Any]:
    """The race as a JSON-ready dict (see the module docstring for what is left out and why)."""
    with recorder._lock:
        events = list(recorder.events)
        start, last = recorder.counter_start, recorder.counter_last
    started = next((e for e in events if isinstance(e, SessionStarted)), None)
    finished = next((e for e in events if isinstance(e, SessionFinished)), None)
    idle = next((e for e in events if isinstance(e, IdleMeasured)), None)
    items = [e for e in events if isinstance(e, ItemScored)]
    item_joules = [e.joules for e in items if e.joules is not None]
    run: dict[str, Any] = {"items_sum_j": _round(sum(item_joules), 3) if item_joules else None}
    if start is not None and last is not None:
        counter = last[1] - start[1]
        run |= {"counter_j": round(counter, 3), "counter_seconds": round(last[0] - start[0], 3)}
        run["items_over_counter"] = _round(sum(item_joules) / counter, 5) if item_joules and counter > 0 else None
        run["items_seconds"] = round(sum(e.seconds for e in items), 3)
    else:
        run["counter_j"] = None  # no GPU counter: the items' energy is all there is
    if finished is not None:
        session_run = finished.measurements.get("run") or {}
        run["session_integrated_j"] = _round(session_run.get("joules"), 3)
        run["session_integrated_seconds"] = _round(session_run.get("seconds"), 3)
        run["session_sample_rate_hz"] = _round(finished.measurements.get("sample_rate_hz"), 2)
    return {
        "name": plan.name,
        "task": plan.task,
        "items_per_side": plan.items,
        "fixed_output_tokens": plan.max_new_tokens,
        "status": finished.status if finished else "not finished",
        "reason": finished.reason if finished else "",
        "power": None if started is None else {"note": started.power_note, "quality": started.power_quality},
        "idle": None if idle is None else {"seconds": _round(idle.seconds, 3), "power_w": _round(idle.power_w, 2)},
        "A": _side("A", events),
        "B": _side("B", events),
        "run": run,
    }


def run_race(
    plan: RacePlan,
    *,
    read_counter: Callable[[], float | None] | None = None,
    db_path: Path | None = None,
    deadline_mono_s: float | None = None,
    inline_workers: bool = False,
) -> dict[str, Any]:
    """Run ``plan`` and summarise it. With ``db_path`` the session is also kept in that store (for ``greentui
    show``). At ``deadline_mono_s`` the session is asked to stop: the items in flight finish, the rest are not run.
    """
    recorder = RaceRecorder(read_counter)
    config = plan.config()
    store_note = None
    runner: Any
    if db_path is not None:
        from greentui.services import SessionRun, open_store

        runner = SessionRun(config, open_store(db_path), inline_workers=inline_workers)
        session = runner.session
    else:
        runner = session = Session(config, inline_workers=inline_workers)
    session.subscribe(recorder)
    stop_timer = None
    if deadline_mono_s is not None:
        stop_timer = threading.Timer(max(deadline_mono_s - time.monotonic(), 0.0), session.request_stop)
        stop_timer.daemon = True
        stop_timer.start()
    prepared = False
    try:
        session.prepare()
        prepared = True
        outcome = runner.run()
        if db_path is not None:
            store_note = {"db": str(db_path), "session_id": outcome.session_id, "errors": list(outcome.store_errors)}
    except SessionError as exc:
        if db_path is not None and not prepared:
            runner.close()  # refused before it ran: release the store writer (run() closes it otherwise)
        summary = summarize(plan, recorder)
        summary |= {"status": "refused", "reason": str(exc)}
        return summary
    finally:
        if stop_timer is not None:
            stop_timer.cancel()
    summary = summarize(plan, recorder)
    if deadline_mono_s is not None and session.stop_requested:
        summary["reason"] = (summary["reason"] + "; " if summary["reason"] else "") + "stopped at the kit's time limit"
    if store_note is not None:
        summary["store"] = store_note
    return summary
