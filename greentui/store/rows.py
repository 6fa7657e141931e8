"""What the store hands back: the frozen dataclasses a stored session is read into.

Items come back as :class:`~greentui.core.records.ItemScored` and samples as
:class:`~greentui.core.records.PowerSample`, the very records a live session produced, so the TUI, the
report and the verdict code need no second vocabulary. :mod:`greentui.store.from_rows` builds these from
rows and merges a stored session's rows back into the event sequence a live run emitted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from greentui.core.records import (
    GridIntensity,
    IdleMeasured,
    ItemScored,
    ModelLoaded,
    Quality,
    RunFailed,
    Schedule,
    SessionFinished,
    SessionStarted,
    SessionStatus,
    Side,
)

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
    status: SessionStatus
    status_reason: str
    task_id: str
    task_name: str
    task_version: str | None
    n_items: int
    schedule: Schedule
    model_a: str
    model_b: str
    settings: dict[str, Any]
    power_sources: tuple[str, ...]
    power_quality: Quality
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
            schedule=self.schedule,
            model_a=self.model_a,
            model_b=self.model_b,
            power_sources=self.power_sources,
            power_quality=self.power_quality,
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
            status=self.status,
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
