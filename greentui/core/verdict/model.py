"""The verdict's records: what ``compute_verdict`` returns, JSON-safe for the store (``to_dict`` / ``from_dict``).

Units: energy in joules (J), emissions in grams CO2e (g), scores in [0, 1], differences in percentage points.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from greentui.core.convert import ConvertError, from_plain, to_plain
from greentui.core.records import DEFAULT_ALPHA as DEFAULT_ALPHA  # re-exported: the stopping rule's defaults
from greentui.core.records import DEFAULT_DELTA as DEFAULT_DELTA
from greentui.core.records import GridIntensity, ItemScored, Quality, Side

_T = TypeVar("_T")

Mode = Literal["fine-tune", "head-to-head"]
MIN_PAIRED_ITEMS = 5
# The at-scale projections (per million answers, a year, the car-km equivalence) need at least this many items with
# energy on each side, and an energy ratio whose 95% CI excludes 1: multiplying a noisy per-answer figure by a
# million turns noise into a headline.
MIN_SCALE_ITEMS = 30
# A model is called cheaper only when the energy ratio's whole 95% CI lies more than this far from 1: two runs of
# the same model differ by a few percent from timer jitter, scheduling and the sampler's resolution, and a
# "difference" of 1 % with a tight interval is real arithmetic but no reason to pick a model.
MIN_ENERGY_DIFFERENCE = 0.05
CEGI_FORMULA = "CEGI = E / (G × P)"
VERDICT_FORMAT_VERSION = 2  # 2: contention, provenance, gated scale; older stored verdicts are recomputed


class VerdictError(ValueError):
    """An input the user controls (baseline, request rate, amortisation) is out of range; one-line message."""


@dataclass(frozen=True)
class SideInput:
    side: Side
    spec: str
    display_name: str
    params_total: int
    params_trainable: int
    has_adapter: bool
    quant: str
    items: tuple[ItemScored, ...]
    failed_reason: str | None = None
    provenance: str = ""  # where the weights came from ("from Q4_1 GGUF, dequantized to fp32")
    energy_note: str | None = None  # a served lane measured elsewhere: "energy not measured here: <why>"


@dataclass(frozen=True)
class SideSummary:
    """One model's figures over all of its scored items. Energy figures cover the items that carry joules."""

    side: Side
    spec: str
    display_name: str
    params_total: int
    params_trainable: int
    has_adapter: bool
    quant: str
    failed_reason: str | None
    n_items: int
    accuracy: float | None  # mean score in [0, 1]
    accuracy_lo: float | None  # 95% CI: Wilson (binary) or bootstrap (continuous)
    accuracy_hi: float | None
    correct: float  # correct items, or the sum of scores ("correct-equivalent") for continuous scores
    energy_items: int  # items with an energy figure
    energy_j: float | None  # total: sum of item windows
    dynamic_energy_j: float | None  # total - idle power x item seconds; None without an idle baseline
    co2e_g: float | None
    dynamic_co2e_g: float | None
    joules_per_token: float | None
    joules_per_correct: float | None  # None: no energy, or no correct answers
    tokens_out: int | None  # over the items with a count; None: no count at all (a server reporting no usage)
    seconds: float
    decode_tokens_per_s_p50: float | None
    e2e_tokens_per_s_p50: float | None
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    provenance: str = ""
    energy_note: str | None = None  # "energy not measured here: <why>" (a served lane whose server is elsewhere)
    tokens_counted_by: str = ""  # "generated ids", "reported by the server", "counted by greentui", "not reported"


@dataclass(frozen=True)
class Comparison:
    """B against A over the items both answered. Differences are B - A in percentage points."""

    n_paired: int
    diff_points: float | None
    diff_lo_points: float | None
    diff_hi_points: float | None
    n_energy_paired: int  # paired items where both sides carry joules
    energy_ratio: float | None  # E_B / E_A over those items
    energy_ratio_lo: float | None
    energy_ratio_hi: float | None
    more_accurate: Side | None  # set only when the accuracy CI excludes 0
    cheaper: Side | None  # set only when the energy-ratio CI lies wholly beyond 1 +- MIN_ENERGY_DIFFERENCE
    extra_j_per_extra_correct: float | None  # (E_more - E_less) / (correct_more - correct_less)
    outcome: str  # matches | more_accurate | dominates | too_close | no_correct | incomplete


@dataclass(frozen=True)
class CegiSide:
    side: Side
    emissions_g: float | None  # E
    score: float | None  # s
    gain: float | None  # G: percent of s_A (fine-tune) or points (head-to-head / fallback)
    params: int  # P, trainable (fine-tune) or all parameters (head-to-head)
    value: float | None  # None when undefined (see status)
    status: str  # ok | no gain | no energy | no parameters | no items | no base score


@dataclass(frozen=True)
class Cegi:
    mode: Mode
    formula: str
    gain_definition: str
    reference_score: float | None  # s0 (head-to-head) or s_A (fine-tune)
    points_fallback: bool  # fine-tune with s_A == 0: G in percentage points
    sides: tuple[CegiSide, ...]  # inference only
    amortized: tuple[CegiSide, ...]  # fine-tune with training emissions included; else empty
    training_emissions_g: float | None
    amortize_answers: float | None
    note: str


@dataclass(frozen=True)
class ScaleSide:
    side: Side
    joules_per_answer: float | None
    kwh_per_million_answers: float | None
    kg_co2e_per_million_answers: float | None
    kwh_per_day: float | None
    kg_co2e_per_year: float | None


@dataclass(frozen=True)
class Scale:
    requests_per_day: float
    sides: tuple[ScaleSide, ...]
    equivalence_of: str  # "difference" (between the models), "A", "B" or "none"
    equivalence_kg_per_year: float | None  # the yearly emissions the equivalence is about
    equivalence_km: float | None
    equivalence_source: str
    withheld: str | None = None  # why there is no projection (too few items, a ratio CI that includes 1)


@dataclass(frozen=True)
class StoppingSummary:
    """The anytime-valid stopping rule at the end of a session (core/verdict/sequential.py, core/run/stopping.py).

    Accuracy bounds are B - A as fractions in [-1, 1]; energy bounds are A's share E_A / (E_A + E_B) in [0, 1].
    Outcomes: "A", "B", "equivalent", "not settled". The cost of the items not run is an estimate: the measured
    mean energy and time per item of each side, times the items that side did not run.
    """

    stop_when_settled: bool  # the session was asked to stop once settled (else the rule only watched)
    alpha: float
    delta: float  # equivalence margin as a fraction (0.05 = 5 points)
    population: int  # the task's items
    planned: int  # items per side without stopping (the task, or the declared cap)
    order_seed: int | None
    n_pairs: int
    settled: bool
    settled_after: int | None  # pairs when accuracy first settled
    stopped_early: bool  # the session ended because it settled, before its planned items
    accuracy_outcome: str
    accuracy_estimate: float | None
    accuracy_lo: float
    accuracy_hi: float
    energy_outcome: str
    energy_pairs: int
    energy_estimate: float | None
    energy_lo: float | None
    energy_hi: float | None
    items_not_run: int  # per side
    saved_energy_j_estimate: float | None
    saved_seconds_estimate: float | None
    summary: str  # one short line: "settled after 34 of 60 items: B more accurate"


@dataclass(frozen=True)
class Verdict:
    task_name: str
    metric: str
    continuous: bool
    baseline_s0: float
    fine_tune: bool
    a: SideSummary
    b: SideSummary
    comparison: Comparison
    cegi: Cegi
    scale: Scale
    sentence: str
    pareto: str
    energy_note: str | None  # "estimated ..." or "no energy figures"; None for measured energy
    energy_quality: Quality
    energy_source: str
    grid: GridIntensity
    idle_power_w: float | None
    seed: int
    format_version: int = VERDICT_FORMAT_VERSION
    # contention: how busy the machine was while measuring (core/measure/contention.py)
    contention_note: str | None = None  # the one plain line every view prints; None on a quiet machine
    contended_windows: int = 0
    windows_with_contention: int = 0  # item windows that recorded contention (0 for sessions stored before)
    other_cpu_share: float | None = None  # time-weighted share of CPU time other programs used during the items
    idle_contended: bool = False  # the baseline was taken on a busy machine: dynamic energy is not available
    idle_contention_share: float | None = None
    measured_same_way: bool = True  # both sides' energy came from the same source, method and scope
    ranking_holds: bool = False  # same way, no contended window, and the energy ratio's 95% CI excludes 1
    stopping: StoppingSummary | None = None  # sessions whose items ran in a seeded order (stopping when settled)

    def side(self, side: Side) -> SideSummary:
        return self.a if side == "A" else self.b

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe nested dict (:func:`greentui.core.convert.to_plain`; no inf/NaN is ever produced)."""
        plain: dict[str, Any] = to_plain(self)
        return plain

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Rebuild a stored verdict; :class:`VerdictError` when ``data`` is not a whole verdict of this format
        (callers then recompute it from the stored items, see ``core.run.judge.session_verdict``)."""
        if not isinstance(data, dict) or data.get("format_version") != VERDICT_FORMAT_VERSION:
            found = data.get("format_version") if isinstance(data, dict) else None
            raise VerdictError(f"a stored verdict of format {found!r}, not {VERDICT_FORMAT_VERSION}")
        try:
            return from_plain(data, cls)
        except ConvertError as exc:
            raise VerdictError(f"a damaged stored verdict ({exc})") from exc


# --------------------------------------------------------------------------------------------------
# Per side
# --------------------------------------------------------------------------------------------------


def latest_by_item(items: tuple[ItemScored, ...]) -> dict[str, ItemScored]:
    """One result per item id (a resumed session may hold a retried item twice: the last one counts)."""
    return {item.item_id: item for item in items}


def tokens_source(items: list[ItemScored] | tuple[ItemScored, ...]) -> str:
    """Where the items' token counts came from: one label, or each label with its item count when they differ
    (a resumed session, or a server that reported usage for some answers only); "" without items."""
    counts = Counter(item.tokens_counted_by for item in items)
    if len(counts) <= 1:
        return next(iter(counts), "")
    return ", ".join(f"{label} ({n})" for label, n in counts.most_common())
