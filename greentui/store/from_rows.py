"""Rows into records: the ``sessions``, ``runs``, ``items`` and ``samples`` rows decoded, and a stored session
merged back into the event order a live run emitted (token and load-progress events are never stored).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from greentui.core.records import (
    Event,
    GridIntensity,
    IdleMeasured,
    ItemScored,
    ItemStarted,
    PowerSample,
    PowerSampled,
    SessionFinished,
    SessionStarted,
    Side,
)
from greentui.store.rows import RunRecord, SessionRecord, SessionSummary, SideSummary

Row = Mapping[str, Any]


def session_from_row(row: Row) -> SessionRecord:
    idle = None
    if row["idle_mono_s"] is not None:
        idle = IdleMeasured(
            seconds=row["idle_seconds"],
            joules=row["idle_joules"],
            power_w=row["idle_power_w"],
            quality=row["idle_quality"],
            source=row["idle_source"],
            t_mono_s=row["idle_mono_s"],
            contention_share=row["idle_contention_share"],
            contended=bool(row["idle_contended"]),
        )
    return SessionRecord(
        id=row["id"],
        status=row["status"],
        status_reason=row["status_reason"],
        task_id=row["task_id"],
        task_name=row["task_name"],
        task_version=row["task_version"],
        n_items=row["n_items"],
        schedule=row["schedule"],
        model_a=row["model_a"],
        model_b=row["model_b"],
        settings=json.loads(row["settings_json"] or "{}"),
        power_sources=tuple(json.loads(row["power_sources_json"] or "[]")),
        power_quality=row["power_quality"],
        power_note=row["power_note"],
        grid=GridIntensity(
            g_per_kwh=row["grid_g_per_kwh"], source=row["grid_source"], country_iso3=row["country"], pue=row["pue"]
        ),
        host=row["host"],
        pid=row["pid"],
        started_unix_s=row["started_unix_s"],
        ended_unix_s=row["ended_unix_s"],
        t0_mono_s=row["t0_mono_s"],
        ended_mono_s=row["ended_mono_s"],
        idle=idle,
        measurements=json.loads(row["measurements_json"] or "{}"),
        sweep_id=row["sweep_id"],
        sweep_key=row["sweep_key"],
        fingerprint_key=row["fingerprint"],
        fingerprint=json.loads(row["fingerprint_json"] or "{}"),
        sampling_rate_hz=row["sampling_rate_hz"],
        measurement_method=row["measurement_method"],
        contended_windows=row["contended_windows"],
        other_cpu_share=row["other_cpu_share"],
    )


def summary_from_row(row: Row) -> SessionSummary:
    """A ``list_sessions`` row: session columns, ``a_*`` / ``b_*`` run columns and the verdict ``sentence``."""

    def side(x: str, name: Side, spec: str) -> SideSummary:
        done = row[f"{x}_items_done"] or 0
        return SideSummary(
            side=name,
            spec=spec,
            status=row[f"{x}_status"] or "pending",
            items_done=done,
            correct=row[f"{x}_correct"] or 0,
            accuracy=(row[f"{x}_score_sum"] / done) if done else None,
            energy_j=row[f"{x}_energy_j"],
            failure=row[f"{x}_failure"],
            provenance=row[f"{x}_provenance"],
        )

    return SessionSummary(
        id=row["id"],
        status=row["status"],
        status_reason=row["status_reason"],
        task_id=row["task_id"],
        task_name=row["task_name"],
        task_version=row["task_version"],
        n_items=row["n_items"],
        schedule=row["schedule"],
        model_a=row["model_a"],
        model_b=row["model_b"],
        power_quality=row["power_quality"],
        started_unix_s=row["started_unix_s"],
        ended_unix_s=row["ended_unix_s"],
        a=side("a", "A", row["model_a"]),
        b=side("b", "B", row["model_b"]),
        verdict_sentence=row["sentence"],
        sweep_id=row["sweep_id"],
    )


_RUN_FIELDS = tuple(RunRecord.__dataclass_fields__)


def run_from_row(row: Row) -> RunRecord:
    return RunRecord(**{name: row[name] for name in _RUN_FIELDS})


def item_from_row(row: Row) -> ItemScored:
    """A finished ``items`` row as the ItemScored event that created it."""
    return ItemScored(
        side=row["side"],
        item_id=row["item_id"],
        index=row["idx"],
        prompt=row["prompt"],
        output=row["output"],
        answer=row["answer"],
        reference=row["reference"],
        score=row["score"],
        tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"],
        ttft_s=row["ttft_s"],
        seconds=row["seconds"],
        joules=row["joules"],
        energy_quality=row["energy_quality"],
        energy_source=row["energy_source"],
        energy_flagged=bool(row["energy_flagged"]),
        started_mono_s=row["started_mono_s"],
        first_token_mono_s=row["first_token_mono_s"],
        last_token_mono_s=row["last_token_mono_s"],
        ended_mono_s=row["ended_mono_s"],
        stop_reason=row["stop_reason"] or "unknown",
        measurement_method=row["measurement_method"],
        energy_scope=row["energy_scope"],
        joules_machine=row["joules_machine"],
        contention_share=row["contention_share"],
        contended=bool(row["contended"]),
        gpu_other_processes=row["gpu_other_processes"],
        gpu_temperature_c=row["gpu_temperature_c"],
        score_detail=row["score_detail"] or "",
        tokens_counted_by=row["tokens_counted_by"] or "generated ids",
    )


def sample_from_row(row: Row) -> PowerSample:
    """A ``samples`` row joined with its channel."""
    return PowerSample(
        t_mono_s=row["t_mono_s"],
        device=row["device"],
        power_w=row["power_w"],
        source=row["source"],
        quality=row["quality"],
        energy_counter_j=row["energy_counter_j"],
        power_kind=row["power_kind"],
        temperature_c=row["temperature_c"],
        sm_clock_mhz=row["sm_clock_mhz"],
    )


# Order of events that share a timestamp: the order a live session emits them in.
_RANK = {
    "session_started": 0,
    "model_loaded": 1,
    "idle_measured": 2,
    "power_sampled": 3,
    "item_started": 4,
    "item_scored": 5,
    "run_failed": 6,
    "session_finished": 7,
}


def _sort_key(event: Event) -> tuple[int, float, int]:
    """(phase, t_mono_s, rank): SessionStarted always first and SessionFinished always last."""
    if isinstance(event, PowerSampled):
        t = event.sample.t_mono_s
    elif isinstance(event, ItemScored):
        t = event.ended_mono_s
    else:
        t = float(getattr(event, "t_mono_s"))  # noqa: B009 - Event declares no time; every stored kind has one
    phase = 0 if isinstance(event, SessionStarted) else 2 if isinstance(event, SessionFinished) else 1
    return (phase, t, _RANK[event.kind])


def item_started_from_row(row: Row) -> ItemStarted | None:
    """The ItemStarted event an ``items`` row remembers (None for rows written without one)."""
    if row["started_event_mono_s"] is None:
        return None
    return ItemStarted(
        side=row["side"],
        item_id=row["item_id"],
        index=row["idx"],
        prompt=row["prompt"],
        t_mono_s=row["started_event_mono_s"],
    )


def replay_events(
    session: SessionRecord,
    runs: Iterable[RunRecord],
    started: Iterable[ItemStarted],
    scored: Iterable[ItemScored],
    samples: Iterator[PowerSample],
) -> Iterator[Event]:
    """Merge a stored session into its live event order; ``samples`` must come in t_mono_s order."""
    events: list[Event] = [session.started_event()]
    for run in sorted(runs, key=lambda r: r.side):
        events.extend(e for e in (run.loaded_event(), run.failed_event()) if e is not None)
    if session.idle is not None:
        events.append(session.idle)
    events.extend(started)
    events.extend(scored)
    finished = session.finished_event()
    if finished is not None:
        events.append(finished)
    events.sort(key=_sort_key)  # stable: equal keys keep side A before B
    yield from heapq.merge(events, (PowerSampled(sample=s) for s in samples), key=_sort_key)
