"""The verdict: per-model figures, the paired comparison, CEGI and what it all means at scale (pure).

``compute_verdict`` turns the scored items of both sides into a :class:`Verdict` -- numbers with their
confidence intervals, the one-sentence conclusion, a Pareto statement, CEGI (Kumar et al., arXiv 2412.02602)
with its formula, inputs and mode, and a scale statement. Nothing here measures or prints; the TUI, the CLI
and the markdown export render the same object, and the store keeps ``Verdict.to_dict()``.

Units: energy in joules (J), emissions in grams CO2e (g), scores in [0, 1], differences in percentage points.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from greentui.core import stats
from greentui.core.records import GridIntensity, ItemScored, Quality, Side

Mode = Literal["fine-tune", "head-to-head"]
MIN_PAIRED_ITEMS = 5
CEGI_FORMULA = "CEGI = E / (G × P / 1e6)"


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
    tokens_out: int
    seconds: float
    decode_tokens_per_s_p50: float | None
    e2e_tokens_per_s_p50: float | None
    ttft_p50_s: float | None
    ttft_p95_s: float | None


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
    cheaper: Side | None  # set only when the energy-ratio CI excludes 1
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
    format_version: int = 1

    def side(self, side: Side) -> SideSummary:
        return self.a if side == "A" else self.b

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe nested dict (tuples become lists; no inf/NaN is ever produced)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return _build(
            cls,
            data,
            a=lambda d: _build(SideSummary, d),
            b=lambda d: _build(SideSummary, d),
            comparison=lambda d: _build(Comparison, d),
            cegi=lambda d: _build(Cegi, d, sides=_cegi_rows, amortized=_cegi_rows),
            scale=lambda d: _build(Scale, d, sides=lambda rows: tuple(_build(ScaleSide, r) for r in rows)),
            grid=lambda d: GridIntensity(**d),
        )


def _cegi_rows(rows: list[dict[str, Any]]) -> tuple[CegiSide, ...]:
    return tuple(_build(CegiSide, r) for r in rows)


def _build(cls: type, data: dict[str, Any], **nested: Any) -> Any:
    """Rebuild dataclass ``cls`` from ``data``; ``nested`` converts the named fields; unknown keys are ignored."""
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = data[f.name]
            kwargs[f.name] = nested[f.name](value) if f.name in nested else value
    return cls(**kwargs)


# --------------------------------------------------------------------------------------------------
# Per side
# --------------------------------------------------------------------------------------------------


def _latest_by_item(items: tuple[ItemScored, ...]) -> dict[str, ItemScored]:
    """One result per item id (a resumed session may hold a retried item twice: the last one counts)."""
    return {item.item_id: item for item in items}


def _correct(items: list[ItemScored], continuous: bool) -> float:
    return float(sum(i.score for i in items)) if continuous else float(sum(1 for i in items if i.correct))


def _summarise(
    side: SideInput, items: list[ItemScored], *, continuous: bool, grid: GridIntensity, idle_power_w: float | None,
    seed: int
) -> SideSummary:
    n = len(items)
    scores = [i.score for i in items]
    accuracy = lo = hi = None
    if n:
        accuracy = sum(scores) / n
        if continuous:
            lo, hi = stats.bootstrap_mean_ci(scores, seed)
        else:
            lo, hi = stats.wilson_interval(_correct(items, False), n)
    with_energy = [i for i in items if i.joules is not None]
    energy_j = sum(i.joules for i in with_energy) if with_energy else None  # type: ignore[misc]
    dynamic_j = None
    if energy_j is not None and idle_power_w is not None:
        # Per item, clamped at 0: a window that drew less than the idle baseline did no measurable extra work
        # (its negative value is sensor noise) and must not cancel the energy of other items.
        dynamic_j = sum(max(0.0, i.joules - idle_power_w * i.seconds) for i in with_energy)  # type: ignore[operator]
    tokens_energy = sum(i.tokens_out for i in with_energy)
    correct_energy = _correct(with_energy, continuous)
    return SideSummary(
        side=side.side, spec=side.spec, display_name=side.display_name, params_total=side.params_total,
        params_trainable=side.params_trainable, has_adapter=side.has_adapter, quant=side.quant,
        failed_reason=side.failed_reason, n_items=n, accuracy=accuracy, accuracy_lo=lo, accuracy_hi=hi,
        correct=_correct(items, continuous), energy_items=len(with_energy), energy_j=energy_j,
        dynamic_energy_j=dynamic_j, co2e_g=grid.grams_co2e(energy_j), dynamic_co2e_g=grid.grams_co2e(dynamic_j),
        joules_per_token=energy_j / tokens_energy if energy_j is not None and tokens_energy > 0 else None,
        joules_per_correct=energy_j / correct_energy if energy_j is not None and correct_energy > 0 else None,
        tokens_out=sum(i.tokens_out for i in items), seconds=sum(i.seconds for i in items),
        decode_tokens_per_s_p50=stats.percentile([i.decode_tokens_per_s for i in items], 50),
        e2e_tokens_per_s_p50=stats.percentile([i.e2e_tokens_per_s for i in items], 50),
        ttft_p50_s=stats.percentile([i.ttft_s for i in items], 50),
        ttft_p95_s=stats.percentile([i.ttft_s for i in items], 95),
    )


# --------------------------------------------------------------------------------------------------
# Paired comparison
# --------------------------------------------------------------------------------------------------


def _compare(
    a_items: dict[str, ItemScored], b_items: dict[str, ItemScored], *, continuous: bool, seed: int
) -> Comparison:
    common = [key for key in a_items if key in b_items]
    n = len(common)
    diff = ratio = None
    if n >= MIN_PAIRED_ITEMS:
        diff = stats.paired_bootstrap_diff([a_items[k].score for k in common], [b_items[k].score for k in common],
                                           seed)
    energy_keys = [k for k in common if a_items[k].joules is not None and b_items[k].joules is not None]
    e_a = [a_items[k].joules for k in energy_keys]
    e_b = [b_items[k].joules for k in energy_keys]
    if len(energy_keys) >= MIN_PAIRED_ITEMS and sum(e_a) > 0:  # type: ignore[arg-type]
        ratio = stats.bootstrap_ratio_ci(e_b, e_a, seed)  # type: ignore[arg-type]

    more_accurate: Side | None = None
    if diff is not None and not diff.contains_zero:
        more_accurate = "B" if diff.lo > 0 else "A"  # the CI lies wholly on one side of 0
    cheaper: Side | None = None
    if ratio is not None and not ratio.contains_one:
        cheaper = "B" if ratio.hi < 1 else "A"

    extra = None
    if more_accurate is not None and ratio is not None:
        more, less = (b_items, a_items) if more_accurate == "B" else (a_items, b_items)
        more_items, less_items = [more[k] for k in energy_keys], [less[k] for k in energy_keys]
        delta_e = sum(i.joules for i in more_items) - sum(i.joules for i in less_items)  # type: ignore[misc]
        delta_c = _correct(more_items, continuous) - _correct(less_items, continuous)
        if delta_c > 0 and delta_e > 0:
            extra = delta_e / delta_c

    if n < MIN_PAIRED_ITEMS:
        outcome = "too_close"
    elif all(a_items[k].score == 0 and b_items[k].score == 0 for k in common):
        outcome = "no_correct"
    elif more_accurate is None:
        # Accuracy indistinguishable: the cheaper model "matches" the other when energy clearly differs.
        outcome = "matches" if cheaper is not None else "too_close"
    else:
        outcome = "dominates" if cheaper == more_accurate else "more_accurate"
    return Comparison(
        n_paired=n,
        diff_points=diff.mean * 100 if diff else None,
        diff_lo_points=diff.lo * 100 if diff else None,
        diff_hi_points=diff.hi * 100 if diff else None,
        n_energy_paired=len(energy_keys),
        energy_ratio=ratio.ratio if ratio else None,
        energy_ratio_lo=ratio.lo if ratio else None,
        energy_ratio_hi=ratio.hi if ratio else None,
        more_accurate=more_accurate,
        cheaper=cheaper,
        extra_j_per_extra_correct=extra,
        outcome=outcome,
    )


# --------------------------------------------------------------------------------------------------
# CEGI
# --------------------------------------------------------------------------------------------------


def _cegi_side(side: Side, emissions_g: float | None, score: float | None, gain: float | None, params: int,
               *, missing: str | None = None) -> CegiSide:
    status, value = "ok", None
    if missing is not None:
        status = missing
    elif gain is None or gain <= 0:
        status = "no gain"  # never a negative CEGI: it would rank first while being worse
    elif params <= 0:
        status = "no parameters"
    elif emissions_g is None:
        status = "no energy"
    else:
        value = emissions_g / (gain * params / 1e6)
    return CegiSide(side=side, emissions_g=emissions_g, score=score, gain=gain, params=params, value=value,
                    status=status)


def _cegi(a: SideSummary, b: SideSummary, *, fine_tune: bool, baseline_s0: float,
          training_emissions_g: float | None, amortize_answers: float | None) -> Cegi:
    if not fine_tune:
        sides = tuple(
            _cegi_side(s.side, s.co2e_g, s.accuracy, None if s.accuracy is None else 100 * (s.accuracy - baseline_s0),
                       s.params_total, missing=None if s.n_items else "no items")
            for s in (a, b)
        )
        return Cegi(mode="head-to-head", formula=CEGI_FORMULA,
                    gain_definition=f"percentage points above the task baseline s0 = {100 * baseline_s0:g}%",
                    reference_score=baseline_s0, points_fallback=False, sides=sides, amortized=(),
                    training_emissions_g=None, amortize_answers=None,
                    note="P = all parameters of each model; E = each run's emissions (total energy)")

    s_a, s_b = a.accuracy, b.accuracy
    fallback = s_a == 0
    gain = None
    missing = "no items" if not b.n_items else ("no base score" if s_a is None else None)
    if s_a is not None and s_b is not None:
        gain = 100 * (s_b - s_a) if fallback else 100 * (s_b - s_a) / s_a
    definition = ("percentage points over the base model (s_A is 0, so a relative gain is undefined)" if fallback
                  else "relative gain over the base model, 100 × (s_B - s_A) / s_A")
    note = "P = the adapter's trainable parameters; E = B's run emissions (total energy)"
    inference = (_cegi_side("B", b.co2e_g, s_b, gain, b.params_trainable, missing=missing),)
    amortized: tuple[CegiSide, ...] = ()
    answers: float | None = None
    if training_emissions_g is not None:
        answers = amortize_answers if amortize_answers is not None else float(max(b.n_items, 1))
        # The run's share of the training emissions; never more than all of them.
        share_g = training_emissions_g * min(1.0, b.n_items / answers)
        e_amortized = None if b.co2e_g is None else b.co2e_g + share_g
        amortized = (_cegi_side("B", e_amortized, s_b, gain, b.params_trainable, missing=missing),)
        note += (f"; amortised: training {format_number(training_emissions_g)} g CO2e spread over "
                 f"{format_number(answers)} answers adds {format_number(share_g)} g to this run's {b.n_items} answers")
    return Cegi(mode="fine-tune", formula=CEGI_FORMULA, gain_definition=definition, reference_score=s_a,
                points_fallback=fallback, sides=inference, amortized=amortized,
                training_emissions_g=training_emissions_g,
                amortize_answers=answers, note=note)


# --------------------------------------------------------------------------------------------------
# Scale
# --------------------------------------------------------------------------------------------------


def _scale(sides: tuple[SideSummary, SideSummary], grid: GridIntensity, requests_per_day: float) -> Scale:
    rows = []
    for s in sides:
        jpa = s.energy_j / s.energy_items if s.energy_j is not None and s.energy_items else None
        if jpa is None:
            rows.append(ScaleSide(s.side, None, None, None, None, None))
            continue
        rows.append(ScaleSide(
            side=s.side, joules_per_answer=jpa, kwh_per_million_answers=jpa * 1e6 / 3.6e6,
            kg_co2e_per_million_answers=grid.grams_co2e(jpa * 1e6) / 1000,  # type: ignore[operator]
            kwh_per_day=jpa * requests_per_day / 3.6e6,
            kg_co2e_per_year=grid.grams_co2e(jpa * requests_per_day * 365) / 1000,  # type: ignore[operator]
        ))
    known = [r for r in rows if r.kg_co2e_per_year is not None]
    # The equivalence is about the difference between the two models when both are known, else one model.
    of, kg = "none", None
    if len(known) == 2 and known[0].kg_co2e_per_year != known[1].kg_co2e_per_year:
        of, kg = "difference", abs(known[0].kg_co2e_per_year - known[1].kg_co2e_per_year)  # type: ignore[operator]
    elif known:
        top = max(known, key=lambda r: r.kg_co2e_per_year)  # type: ignore[arg-type,return-value]
        of, kg = top.side, top.kg_co2e_per_year
    return Scale(requests_per_day=requests_per_day, sides=tuple(rows), equivalence_of=of, equivalence_kg_per_year=kg,
                 equivalence_km=None if kg is None else kg * 1000 / CAR_G_PER_KM, equivalence_source=CAR_SOURCE)


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def compute_verdict(
    a: SideInput, b: SideInput, *, task_name: str, metric: str, baseline_s0: float, continuous: bool,
    grid: GridIntensity, idle_power_w: float | None, energy_quality: Quality, energy_source: str,
    fine_tune: bool = False, requests_per_day: float = 1e6, training_emissions_g: float | None = None,
    amortize_answers: float | None = None, seed: int = 0,
) -> Verdict:
    """Everything the verdict screen, the CLI and the export show, from the scored items of both sides.

    ``fine_tune``: B is A plus an adapter (the caller checks the specs); CEGI then uses the relative gain of B
    over A and the adapter's parameters. Otherwise both models get a head-to-head CEGI against ``baseline_s0``.
    """
    if not 0.0 <= baseline_s0 <= 1.0:
        raise VerdictError(f"the task baseline s0 must be in [0, 1], got {baseline_s0}")
    if requests_per_day <= 0:
        raise VerdictError(f"the request rate must be positive, got {requests_per_day} a day")
    if amortize_answers is not None and amortize_answers <= 0:
        raise VerdictError(f"training emissions must be amortised over a positive number of answers, "
                           f"got {amortize_answers}")
    if training_emissions_g is not None and training_emissions_g < 0:
        raise VerdictError(f"training emissions cannot be negative, got {training_emissions_g} g")
    a_items, b_items = _latest_by_item(a.items), _latest_by_item(b.items)
    summary_a = _summarise(a, list(a_items.values()), continuous=continuous, grid=grid, idle_power_w=idle_power_w,
                           seed=seed)
    summary_b = _summarise(b, list(b_items.values()), continuous=continuous, grid=grid, idle_power_w=idle_power_w,
                           seed=seed)
    comparison = _compare(a_items, b_items, continuous=continuous, seed=seed)
    if not summary_a.n_items or not summary_b.n_items:
        comparison = dataclasses.replace(comparison, outcome="incomplete")
    cegi = _cegi(summary_a, summary_b, fine_tune=fine_tune, baseline_s0=baseline_s0,
                 training_emissions_g=training_emissions_g if fine_tune else None, amortize_answers=amortize_answers)
    scale = _scale((summary_a, summary_b), grid, requests_per_day)
    sentence, pareto, energy_note = _sentences(summary_a, summary_b, comparison, energy_quality,
                                                      energy_source, continuous)
    return Verdict(task_name=task_name, metric=metric, continuous=continuous, baseline_s0=baseline_s0,
                   fine_tune=fine_tune, a=summary_a, b=summary_b, comparison=comparison, cegi=cegi, scale=scale,
                   sentence=sentence, pareto=pareto, energy_note=energy_note, energy_quality=energy_quality,
                   energy_source=energy_source, grid=grid, idle_power_w=idle_power_w, seed=seed)


def verdict_lines(verdict: Verdict) -> list[str]:
    """Plain-text lines for the TUI: sentence, Pareto line, energy note, CEGI lines, scale lines."""
    lines = [verdict.sentence, verdict.pareto]
    if verdict.energy_note:
        lines.append(verdict.energy_note)
    lines.extend(cegi_lines(verdict))
    lines.extend(scale_lines(verdict))
    return lines


# --------------------------------------------------------------------------------------------------
# Words: number formats, the sentence, the Pareto line, CEGI and scale lines
# --------------------------------------------------------------------------------------------------

# One everyday equivalence, cited by name. Type-approval figure: real-world driving emits more.
CAR_G_PER_KM = 106.6
CAR_SOURCE = ("EEA: new passenger cars registered in Europe in 2023 averaged about 106.6 g CO2/km, "
              "WLTP type-approval; an approximate equivalence")


def format_number(x: float, sig: int = 3) -> str:
    """``sig`` significant digits, trailing zeros kept ("5.00", "0.0500"); thousands separators from
    10**(sig-1) up; an exponent only below 1e-4 or from 1e9."""
    if x == 0:
        return "0"
    rounded = float(f"{x:.{sig}g}")  # round first, so 9.9999 becomes 10.0 and not "10.00"
    ax = abs(rounded)
    if ax >= 1e9 or ax < 1e-4:
        return f"{rounded:.{sig - 1}e}"
    if ax >= 10 ** (sig - 1):
        return f"{rounded:,.0f}"
    return f"{rounded:.{sig - 1 - math.floor(math.log10(ax))}f}"


def _scaled(x: float, units: tuple[tuple[float, str], ...]) -> str:
    for factor, unit in reversed(units):
        if abs(x) >= factor:
            return f"{format_number(x / factor)} {unit}"
    return f"{format_number(x / units[0][0])} {units[0][1]}"


def format_joules(j: float | None) -> str:
    return "—" if j is None else _scaled(j, ((1.0, "J"), (1e3, "kJ"), (1e6, "MJ"), (1e9, "GJ")))


def format_energy(j: float | None) -> str:
    """Joules with the same energy in watt-hours beside them: ``1.32 kJ · 0.367 Wh``."""
    if j is None:
        return "—"
    wh = _scaled(j / 3600.0, ((1e-6, "µWh"), (1e-3, "mWh"), (1.0, "Wh"), (1e3, "kWh")))
    return f"{format_joules(j)} · {wh}"


def format_grams(g: float | None) -> str:
    return "—" if g is None else _scaled(g, ((1.0, "g"), (1e3, "kg"), (1e6, "t")))


def format_params(n: int) -> str:
    """134515008 -> "134.5 M" (four significant digits: quantized variants of one model differ little)."""
    for factor, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= factor:
            return f"{n / factor:.4g} {unit}"
    return str(n)


def format_count(n: float) -> str:
    """1e6 -> "1 million"; other values with separators."""
    if n >= 1e6 and (n / 1e6) == round(n / 1e6, 3):
        return f"{n / 1e6:g} million"
    return f"{n:,.0f}" if n >= 1 else f"{n:g}"


def _pct(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    value = 100 * ratio
    # One decimal near 100%, where rounding would print "100%" for a real (significant) difference.
    return f"{value:.1f}%" if 99 <= value <= 101 else f"{value:.0f}%"


def model_label(s: SideSummary, other: SideSummary) -> str:
    """"B (smollm2-135m@nf4)": the display name, or the spec where both sides share a display name."""
    name = s.display_name or s.spec
    if name == (other.display_name or other.spec) and s.spec and s.spec != other.spec:
        name = s.spec
    return f"{s.side} ({name})" if name else s.side


def _diff_for(c: Comparison, side: Side) -> tuple[float, float, float]:
    """Accuracy of ``side`` minus the other's, with its CI, in points."""
    d, lo, hi = c.diff_points or 0.0, c.diff_lo_points or 0.0, c.diff_hi_points or 0.0
    # "+ 0.0" turns a negated zero (-0.0, printed "-0.0") back into 0.0
    return (d, lo, hi) if side == "B" else (-d + 0.0, -hi + 0.0, -lo + 0.0)


def _ratio_for(c: Comparison, side: Side) -> tuple[float | None, float | None, float | None]:
    """Energy of ``side`` over the other's, with its CI."""
    r, lo, hi = c.energy_ratio, c.energy_ratio_lo, c.energy_ratio_hi
    if side == "B" or r is None:
        return r, lo, hi
    inv = lambda x: 1 / x if x else None  # noqa: E731 - a resample of zero joules has no inverse
    return inv(r), inv(hi), inv(lo)


def _ci(lo: float, hi: float) -> str:
    return f"95% CI {lo:+.1f} … {hi:+.1f}"


def _sentences(a: SideSummary, b: SideSummary, c: Comparison, quality: Quality, source: str,
               continuous: bool) -> tuple[str, str, str | None]:
    label = {"A": model_label(a, b), "B": model_label(b, a)}
    other: dict[Side, Side] = {"A": "B", "B": "A"}
    answer = "correct-equivalent answer" if continuous else "correct answer"
    m = c.more_accurate
    if c.outcome == "incomplete":
        missing = [f"{label[s.side]} has no results" + (f" ({s.failed_reason})" if s.failed_reason else "")
                   for s in (a, b) if not s.n_items]
        sentence = "No comparison: " + " and ".join(missing) + "."
    elif c.n_paired < MIN_PAIRED_ITEMS:
        sentence = (f"Too close to call: only {c.n_paired} item(s) were answered by both models; a paired "
                    f"comparison needs at least {MIN_PAIRED_ITEMS}.")
    elif c.outcome == "no_correct":
        sentence = (f"Neither model scored on the {c.n_paired} items both answered: {label['A']} and {label['B']} "
                    "both scored 0" + (f"; B used {_pct(c.energy_ratio)} of A's energy." if c.energy_ratio else "."))
    elif c.outcome == "matches" and c.cheaper is not None:
        cheap = c.cheaper
        d, lo, hi = _diff_for(c, cheap)
        sentence = (f"{label[cheap]} matches {label[other[cheap]]}: accuracy {d:+.1f} points ({_ci(lo, hi)}) "
                    f"at {_pct(_ratio_for(c, cheap)[0])} of {other[cheap]}'s energy.")
    elif m is None:
        d, lo, hi = _diff_for(c, "B")
        head = f"Too close to call: {label['B']} vs {label['A']}, accuracy {d:+.1f} points ({_ci(lo, hi)})"
        if c.energy_ratio is None:
            sentence = head + " and no energy figures to separate them."
        else:
            sentence = (head + f" at {_pct(c.energy_ratio)} of A's energy (95% CI {_pct(c.energy_ratio_lo)} … "
                        f"{_pct(c.energy_ratio_hi)}): both differences are within the noise.")
    else:
        less = other[m]
        d, lo, hi = _diff_for(c, m)
        head = f"{label[m]} is more accurate than {label[less]} by {d:.1f} points ({_ci(lo, hi)})"
        r, r_lo, r_hi = _ratio_for(c, m)
        if c.energy_ratio is None:
            sentence = head + f"; without energy figures there is no cost per extra {answer}."
        elif c.outcome == "dominates":
            sentence = head + f" and uses less energy ({_pct(r)} of {less}'s): it dominates."
        elif r is not None and r <= 1:
            sentence = (head + f" at about the same energy ({_pct(r)} of {less}'s, "
                        f"95% CI {_pct(r_lo)} … {_pct(r_hi)}).")
        elif c.extra_j_per_extra_correct is not None:
            sentence = (head + f" and costs {format_joules(c.extra_j_per_extra_correct)} per extra {answer} "
                        f"({_pct(r)} of {less}'s energy).")
        else:
            sentence = head + f" at {_pct(r)} of {less}'s energy."

    if c.outcome == "incomplete" or c.n_paired < MIN_PAIRED_ITEMS:
        pareto = "Pareto: not enough items answered by both models to rank them."
    elif m is not None and c.cheaper == m:
        pareto = f"Pareto: {label[m]} is better on both accuracy and energy (it dominates)."
    elif m is not None and c.cheaper is not None:
        pareto = f"Pareto: {label[m]} is better on accuracy, {label[c.cheaper]} on energy: a trade-off."
    elif m is not None:
        pareto = f"Pareto: {label[m]} is better on accuracy; " + (
            "energy was not measured." if c.energy_ratio is None else "on energy neither is (ratio CI includes 1).")
    elif c.cheaper is not None:
        pareto = f"Pareto: {label[c.cheaper]} is better on energy; on accuracy neither is (difference CI includes 0)."
    else:
        pareto = "Pareto: neither model is better on accuracy or on energy at 95% confidence."

    notes = []
    if a.energy_j is None and b.energy_j is None:
        notes.append("No energy figures: the power source reported none, so energy, CO2e and CEGI are unavailable.")
    elif quality == "estimated":
        notes.append("Estimated energy: both models were estimated the same way on this host, so the ranking holds, "
                     f"but the absolute joules and grams are estimates (no power sensor; power source: {source}).")
    for s in (a, b):
        if s.n_items and s.energy_items < s.n_items:
            notes.append(f"Energy for {s.side} covers {s.energy_items} of its {s.n_items} items.")
    return sentence, pareto, " ".join(notes) or None


def _cegi_side_line(row: CegiSide, unit: str) -> str:
    if row.value is not None:
        return (f"{row.side}: {format_number(row.emissions_g or 0)} / ({format_number(row.gain or 0)} × "
                f"{row.params / 1e6:.4g}) = {row.value:.2g}")
    gain = "" if row.gain is None else f", G = {row.gain:+.1f} {unit}"
    return f"{row.side}: CEGI undefined ({row.status}{gain})"


def cegi_lines(verdict: Verdict) -> list[str]:
    """The CEGI block: formula and mode, each side's inputs and value, notes. Lower is better."""
    cegi = verdict.cegi
    unit = "points" if cegi.mode == "head-to-head" or cegi.points_fallback else "%"
    params = "the adapter's trainable parameters" if cegi.mode == "fine-tune" else "all parameters"
    lines = [f"CEGI ({cegi.mode} mode): {cegi.formula}; E in g CO2e, G = {cegi.gain_definition}, "
             f"P = {params} (millions); lower is better"]
    only = "  (inference only)" if cegi.amortized else ""
    lines.extend(_cegi_side_line(row, unit) + only for row in cegi.sides)
    lines.extend(f"{_cegi_side_line(row, unit)}  (training emissions included)" for row in cegi.amortized)
    if cegi.points_fallback:
        lines.append("s_A is 0: G falls back to percentage points (a relative gain over 0 is undefined).")
    lines.append(cegi.note)
    return lines


def scale_lines(verdict: Verdict) -> list[str]:
    """What the run means at the user's request rate, with one cited everyday equivalence."""
    scale, grid = verdict.scale, verdict.grid
    known = [r for r in scale.sides if r.kwh_per_day is not None]
    if not known:
        return ["At scale: no energy figures, so no projection."]
    where = f"{grid.country_iso3} grid, " if grid.country_iso3 else "grid "
    per_day = ", ".join(f"{r.side} {format_number(r.kwh_per_day)} kWh/day" for r in known)  # type: ignore[arg-type]
    per_year = " vs ".join(format_grams(1000 * r.kg_co2e_per_year) for r in known)  # type: ignore[operator]
    per_million = "; ".join(
        f"{r.side} {format_number(r.kwh_per_million_answers)} kWh "  # type: ignore[arg-type]
        f"({format_grams(1000 * r.kg_co2e_per_million_answers)} CO2e)" for r in known)  # type: ignore[operator]
    lines = [f"At {format_count(scale.requests_per_day)} answers a day: {per_day} ({where}"
             f"{grid.g_per_kwh:g} g/kWh: {per_year} CO2e a year)", f"Per million answers: {per_million}"]
    if scale.equivalence_km is not None and scale.equivalence_kg_per_year:
        what = "The difference" if scale.equivalence_of == "difference" else f"{scale.equivalence_of}'s total"
        lines.append(f"{what}, {format_grams(1000 * scale.equivalence_kg_per_year)} CO2e a year, is roughly "
                     f"{format_number(scale.equivalence_km, 2)} km driven in an average new car "
                     f"({scale.equivalence_source}).")
    return lines
