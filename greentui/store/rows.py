"""What the store hands back: frozen dataclasses built from rows, and the rows turned back into events.

Items come back as :class:`~greentui.core.records.ItemScored` and samples as
:class:`~greentui.core.records.PowerSample`, the very records a live session produced, so the TUI, the
report and the verdict code need no second vocabulary. :func:`replay_events` merges a stored session's rows
into the event sequence a live run emitted (token and load-progress events are never stored).
"""

from __future__ import annotations

import dataclasses
import heapq
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from greentui.core.records import (
    Event,
    GridIntensity,
    IdleMeasured,
    ItemScored,
    ItemStarted,
    ModelLoaded,
    PowerSample,
    PowerSampled,
    RunFailed,
    SessionFinished,
    SessionStarted,
    Side,
)

Row = Mapping[str, Any]

# A spec's text form ends in "+adapter=PATH" when it names a PEFT adapter (the grammar of core/models/spec.py,
# which the store may not import). The runs table keeps the spec, not ModelLoaded.has_adapter / base_spec, so
# those are read back from it: sessions stored before the fields existed replay with them too.
ADAPTER_MARK = "+adapter="


@dataclass(frozen=True)
class SideSummary:
    """One side of a listed session: progress, accuracy (mean score, None before the first item), energy."""

    side: Side
    spec: str
    status: str  # pending | loaded | failed | finished
    items_done: int
    correct: int
    accuracy: float | None
    energy_j: float | None  # sum of the items' measured joules; None when none was measured
    failure: str | None
    provenance: str | None = None  # where the weights came from (None: not recorded)


@dataclass(frozen=True)
class SessionSummary:
    """One line of the history list (see :meth:`SessionStore.list_sessions`)."""

    id: str
    status: str
    status_reason: str
    task_id: str
    task_name: str
    task_version: str | None
    n_items: int
    schedule: str
    model_a: str
    model_b: str
    power_quality: str
    started_unix_s: float
    ended_unix_s: float | None
    a: SideSummary
    b: SideSummary
    verdict_sentence: str | None
    sweep_id: str | None = None  # the sweep's name (greentui sweep), None outside any sweep

    def side(self, side: Side) -> SideSummary:
        return self.a if side == "A" else self.b


@dataclass(frozen=True)
class SessionRecord:
    """The ``sessions`` row, decoded (JSON columns parsed, grid and idle baseline as records)."""

    id: str
    status: str
    status_reason: str
    task_id: str
    task_name: str
    task_version: str | None
    n_items: int
    schedule: str
    model_a: str
    model_b: str
    settings: dict[str, Any]
    power_sources: tuple[str, ...]
    power_quality: str
    power_note: str
    grid: GridIntensity
    host: str | None
    pid: int | None
    started_unix_s: float
    ended_unix_s: float | None
    t0_mono_s: float
    ended_mono_s: float | None
    idle: IdleMeasured | None
    measurements: dict[str, Any]
    sweep_id: str | None = None  # the sweep's name; None outside any sweep
    sweep_key: str | None = None  # content hash of the session inside its sweep
    fingerprint_key: str | None = None  # 12 hex digits of the hardware; "mixed" when resumed on other hardware
    fingerprint: dict[str, Any] = dataclasses.field(default_factory=dict)  # host, CPU, GPUs, driver, power limits
    # what the figures rest on (None: not recorded, sessions stored before greentui did)
    sampling_rate_hz: float | None = None
    measurement_method: str | None = None  # the methods the items' energy used: "counter", "integrated" (comma list)
    contended_windows: int | None = None
    other_cpu_share: float | None = None  # time-weighted share of the windows' CPU time other programs used

    @property
    def grid_g_per_kwh(self) -> float:
        return self.grid.g_per_kwh

    @property
    def grid_source(self) -> str:
        return self.grid.source

    @property
    def country(self) -> str | None:
        return self.grid.country_iso3

    @property
    def pue(self) -> float:
        return self.grid.pue

    def started_event(self) -> SessionStarted:
        task, config, extras = SessionStarted.typed_settings(
            self.settings, task_id=self.task_id, task_name=self.task_name, model_a=self.model_a, model_b=self.model_b
        )
        return SessionStarted(
            session_id=self.id,
            task_id=self.task_id,
            task_name=self.task_name,
            n_items=self.n_items,
            schedule=self.schedule,  # type: ignore[arg-type]
            model_a=self.model_a,
            model_b=self.model_b,
            power_sources=self.power_sources,
            power_quality=self.power_quality,  # type: ignore[arg-type]
            power_note=self.power_note,
            grid=self.grid,
            started_unix_s=self.started_unix_s,
            t_mono_s=self.t0_mono_s,
            task=task,
            config=config,
            settings=extras,
        )

    def finished_event(self) -> SessionFinished | None:
        """The stored SessionFinished, or None for a session that never finished (crash, still running)."""
        if self.ended_mono_s is None or self.ended_unix_s is None:
            return None
        return SessionFinished(
            status=self.status,  # type: ignore[arg-type]
            reason=self.status_reason,
            t_mono_s=self.ended_mono_s,
            ended_unix_s=self.ended_unix_s,
            measurements=self.measurements,
        )


@dataclass(frozen=True)
class RunRecord:
    """The ``runs`` row of one side: the loaded model (None fields if it never loaded), failure, totals."""

    session_id: str
    side: Side
    status: str
    spec: str | None
    display_name: str | None
    params_total: int | None
    params_trainable: int | None
    weight_bytes: int | None
    dtype: str | None
    quant: str | None
    device: str | None
    load_s: float | None
    peak_rss_bytes: int | None
    peak_cuda_bytes: int | None
    loaded_mono_s: float | None
    failure: str | None
    failure_reason: str | None
    failed_mono_s: float | None
    items_done: int
    correct: int
    score_sum: float
    energy_j: float | None
    tokens_out: int
    provenance: str | None = None  # where the weights came from (None: stored before greentui recorded it)

    @property
    def accuracy(self) -> float | None:
        return self.score_sum / self.items_done if self.items_done else None

    def loaded_event(self) -> ModelLoaded | None:
        if self.loaded_mono_s is None:
            return None
        base_spec, marked, _ = (self.spec or "").partition(ADAPTER_MARK)
        return ModelLoaded(
            side=self.side,
            spec=self.spec or "",
            display_name=self.display_name or "",
            params_total=int(self.params_total or 0),
            params_trainable=int(self.params_trainable or 0),
            weight_bytes=int(self.weight_bytes or 0),
            dtype=self.dtype or "",
            quant=self.quant or "",
            device=self.device or "",
            load_s=float(self.load_s or 0.0),
            peak_rss_bytes=self.peak_rss_bytes,
            peak_cuda_bytes=self.peak_cuda_bytes,
            t_mono_s=self.loaded_mono_s,
            has_adapter=bool(marked),
            base_spec=base_spec,
            provenance=self.provenance or "",
        )

    def failed_event(self) -> RunFailed | None:
        if self.failed_mono_s is None:
            return None
        return RunFailed(
            side=self.side, reason=self.failure_reason or "", failure=self.failure or "", t_mono_s=self.failed_mono_s
        )


@dataclass(frozen=True)
class StoredSession:
    """Everything about one session in one call (:meth:`SessionStore.load_session`), e.g. for a report."""

    session: SessionRecord
    runs: dict[Side, RunRecord]
    items: tuple[ItemScored, ...]  # finished items, side A then B, in task order
    verdict: dict[str, Any] | None  # the latest saved Verdict.to_dict()
    verdict_sentence: str | None
    verdict_created_unix_s: float | None

    def items_for(self, side: Side) -> tuple[ItemScored, ...]:
        return tuple(item for item in self.items if item.side == side)

    def session_dict(self) -> dict[str, Any]:
        """The session as a flat dict (the grid as grid_g_per_kwh / grid_source / country / pue), for reports."""
        flat = dataclasses.asdict(self.session)
        grid = flat.pop("grid")
        flat.update(
            grid_g_per_kwh=grid["g_per_kwh"], grid_source=grid["source"], country=grid["country_iso3"], pue=grid["pue"]
        )
        return flat

    def runs_dicts(self) -> list[dict[str, Any]]:
        """One dict per side (A first) with every :class:`RunRecord` field."""
        return [dataclasses.asdict(self.runs[side]) for side in sorted(self.runs)]

    def items_summary(self) -> dict[Side, dict[str, Any]]:
        """Per side: items_done, correct, score_sum, energy_j (None if none measured), tokens_out."""
        return {
            side: {
                "items_done": run.items_done,
                "correct": run.correct,
                "score_sum": run.score_sum,
                "energy_j": run.energy_j,
                "tokens_out": run.tokens_out,
            }
            for side, run in sorted(self.runs.items())
        }


@dataclass(frozen=True)
class ResumeInfo:
    """What ``greentui resume`` needs: the settings to rebuild the session and the items already done."""

    session_id: str
    status: str
    settings: dict[str, Any]
    task_version: str | None
    done: dict[Side, frozenset[str]]  # item ids finished per side


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
