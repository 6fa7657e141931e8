"""The verdict: per-model figures, the paired comparison, CEGI and what it all means at scale (pure).

``compute_verdict`` turns the scored items of both sides into a :class:`Verdict` -- numbers with their
confidence intervals, the one-sentence conclusion, a Pareto statement, CEGI (Kumar et al., arXiv 2412.02602)
with its formula, inputs and mode, and a scale statement. Nothing here measures or prints; the TUI, the CLI
and the markdown export render the same object, and the store keeps ``Verdict.to_dict()``.

Units: energy in joules (J), emissions in grams CO2e (g), scores in [0, 1], differences in percentage points.
"""

from __future__ import annotations

import dataclasses

from greentui.core.figures import SideFigures, dynamic_joules
from greentui.core.records import GridIntensity, ItemScored, Quality, Side
from greentui.core.verdict import stats
from greentui.core.verdict.cegi import cegi as _cegi
from greentui.core.verdict.evidence import gather_evidence, ranking, scale_withheld
from greentui.core.verdict.model import (
    CEGI_FORMULA,
    MIN_ENERGY_DIFFERENCE,
    MIN_PAIRED_ITEMS,
    Cegi,
    CegiSide,
    Comparison,
    Mode,
    Scale,
    ScaleSide,
    SideInput,
    SideSummary,
    Verdict,
    VerdictError,
    latest_by_item,
    tokens_source,
)
from greentui.core.verdict.text import (
    CAR_G_PER_KM,
    CAR_SOURCE,
    cegi_lines,
    contention_note,
    model_label,
    scale_lines,
    sentences,
    verdict_lines,
)

# The records and the words live beside this module; importers keep using ``greentui.core.verdict.compute``.
__all__ = [
    "CEGI_FORMULA",
    "MIN_PAIRED_ITEMS",
    "Cegi",
    "CegiSide",
    "Comparison",
    "Mode",
    "Scale",
    "ScaleSide",
    "SideInput",
    "SideSummary",
    "Verdict",
    "VerdictError",
    "cegi_lines",
    "compute_verdict",
    "model_label",
    "scale_lines",
    "tokens_source",
    "verdict_lines",
]


def _summarise(
    side: SideInput,
    items: list[ItemScored],
    *,
    continuous: bool,
    grid: GridIntensity,
    idle_power_w: float | None,
    seed: int,
) -> SideSummary:
    n = len(items)
    scores = [i.score for i in items]
    figures = SideFigures.of(items, continuous)
    accuracy = lo = hi = None
    if n:
        accuracy = figures.mean_score
        if continuous:
            lo, hi = stats.bootstrap_mean_ci(scores, seed)
        else:
            lo, hi = stats.wilson_interval(figures.correct, n)
    energy_j = figures.energy_j
    dynamic_j = None
    if energy_j is not None and idle_power_w is not None:
        dynamic_j = sum(dynamic_joules(i.joules, i.seconds, idle_power_w) or 0.0 for i in items if i.joules is not None)
    return SideSummary(
        side=side.side,
        spec=side.spec,
        display_name=side.display_name,
        params_total=side.params_total,
        params_trainable=side.params_trainable,
        has_adapter=side.has_adapter,
        quant=side.quant,
        failed_reason=side.failed_reason,
        n_items=n,
        accuracy=accuracy,
        accuracy_lo=lo,
        accuracy_hi=hi,
        correct=figures.correct_equivalent,
        energy_items=figures.energy_items,
        energy_j=energy_j,
        dynamic_energy_j=dynamic_j,
        co2e_g=grid.grams_co2e(energy_j),
        dynamic_co2e_g=grid.grams_co2e(dynamic_j),
        joules_per_token=figures.joules_per_token,
        joules_per_correct=figures.joules_per_correct,
        tokens_out=figures.tokens_known,
        seconds=figures.seconds,
        decode_tokens_per_s_p50=stats.percentile([i.decode_tokens_per_s for i in items], 50),
        e2e_tokens_per_s_p50=stats.percentile([i.e2e_tokens_per_s for i in items], 50),
        ttft_p50_s=stats.percentile([i.ttft_s for i in items], 50),
        ttft_p95_s=stats.percentile([i.ttft_s for i in items], 95),
        provenance=side.provenance,
        energy_note=side.energy_note,
        tokens_counted_by=tokens_source(items),
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
        diff = stats.paired_bootstrap_diff([a_items[k].score for k in common], [b_items[k].score for k in common], seed)
    energy = {
        k: (joules_a, joules_b)
        for k in common
        if (joules_a := a_items[k].joules) is not None and (joules_b := b_items[k].joules) is not None
    }
    energy_keys = list(energy)
    e_a = [joules_a for joules_a, _ in energy.values()]
    e_b = [joules_b for _, joules_b in energy.values()]
    if len(energy_keys) >= MIN_PAIRED_ITEMS and sum(e_a) > 0:
        ratio = stats.bootstrap_ratio_ci(e_b, e_a, seed)

    more_accurate: Side | None = None
    if diff is not None and not diff.contains_zero:
        more_accurate = "B" if diff.lo > 0 else "A"  # the CI lies wholly on one side of 0
    cheaper: Side | None = None
    if ratio is not None and ratio.hi < 1 - MIN_ENERGY_DIFFERENCE:
        cheaper = "B"
    elif ratio is not None and ratio.lo > 1 + MIN_ENERGY_DIFFERENCE:
        cheaper = "A"

    extra = None
    if more_accurate is not None and ratio is not None:
        more, less = (b_items, a_items) if more_accurate == "B" else (a_items, b_items)
        more_items, less_items = [more[k] for k in energy_keys], [less[k] for k in energy_keys]
        delta_e = sum(e_b) - sum(e_a) if more_accurate == "B" else sum(e_a) - sum(e_b)
        delta_c = (
            SideFigures.of(more_items, continuous).correct_equivalent
            - SideFigures.of(less_items, continuous).correct_equivalent
        )
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
# Scale
# --------------------------------------------------------------------------------------------------


def _scale(
    sides: tuple[SideSummary, SideSummary], grid: GridIntensity, requests_per_day: float, withheld: str | None
) -> Scale:
    if withheld is not None:  # no numbers at all: nothing downstream can print a projection the evidence lacks
        return Scale(requests_per_day, (), "none", None, None, CAR_SOURCE, withheld)
    rows = []
    for s in sides:
        jpa = s.energy_j / s.energy_items if s.energy_j is not None and s.energy_items else None
        if jpa is None:
            rows.append(ScaleSide(s.side, None, None, None, None, None))
            continue
        rows.append(
            ScaleSide(
                side=s.side,
                joules_per_answer=jpa,
                kwh_per_million_answers=jpa * 1e6 / 3.6e6,
                kg_co2e_per_million_answers=grid.grams_co2e(jpa * 1e6) / 1000,
                kwh_per_day=jpa * requests_per_day / 3.6e6,
                kg_co2e_per_year=grid.grams_co2e(jpa * requests_per_day * 365) / 1000,
            )
        )
    known = [(r.side, kg_year) for r in rows if (kg_year := r.kg_co2e_per_year) is not None]
    # The equivalence is about the difference between the two models when both are known, else one model.
    of, kg = "none", None
    if len(known) == 2 and known[0][1] != known[1][1]:
        of, kg = "difference", abs(known[0][1] - known[1][1])
    elif known:
        of, kg = max(known, key=lambda side_kg: side_kg[1])
    return Scale(
        requests_per_day=requests_per_day,
        sides=tuple(rows),
        equivalence_of=of,
        equivalence_kg_per_year=kg,
        equivalence_km=None if kg is None else kg * 1000 / CAR_G_PER_KM,
        equivalence_source=CAR_SOURCE,
    )


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def compute_verdict(
    a: SideInput,
    b: SideInput,
    *,
    task_name: str,
    metric: str,
    baseline_s0: float,
    continuous: bool,
    grid: GridIntensity,
    idle_power_w: float | None,
    energy_quality: Quality,
    energy_source: str,
    fine_tune: bool = False,
    requests_per_day: float = 1e6,
    training_emissions_g: float | None = None,
    amortize_answers: float | None = None,
    seed: int = 0,
    idle_contended: bool = False,
    idle_contention_share: float | None = None,
) -> Verdict:
    """Everything the verdict screen, the CLI and the export show, from the scored items of both sides.

    ``fine_tune``: B is A plus an adapter (the caller checks the specs); CEGI then uses the relative gain of B
    over A and the adapter's parameters. Otherwise both models get a head-to-head CEGI against ``baseline_s0``.
    ``idle_contended``: the idle baseline was taken on a busy machine, so it is not used (no dynamic energy).
    """
    if not 0.0 <= baseline_s0 <= 1.0:
        raise VerdictError(f"the task baseline s0 must be in [0, 1], got {baseline_s0}")
    if requests_per_day <= 0:
        raise VerdictError(f"the request rate must be positive, got {requests_per_day} a day")
    if amortize_answers is not None and amortize_answers <= 0:
        raise VerdictError(
            f"training emissions must be amortised over a positive number of answers, got {amortize_answers}"
        )
    if training_emissions_g is not None and training_emissions_g < 0:
        raise VerdictError(f"training emissions cannot be negative, got {training_emissions_g} g")
    a_items, b_items = latest_by_item(a.items), latest_by_item(b.items)
    idle_used = None if idle_contended else idle_power_w
    summary_a = _summarise(
        a, list(a_items.values()), continuous=continuous, grid=grid, idle_power_w=idle_used, seed=seed
    )
    summary_b = _summarise(
        b, list(b_items.values()), continuous=continuous, grid=grid, idle_power_w=idle_used, seed=seed
    )
    comparison = _compare(a_items, b_items, continuous=continuous, seed=seed)
    if not summary_a.n_items or not summary_b.n_items:
        comparison = dataclasses.replace(comparison, outcome="incomplete")
    cegi = _cegi(
        summary_a,
        summary_b,
        fine_tune=fine_tune,
        baseline_s0=baseline_s0,
        training_emissions_g=training_emissions_g if fine_tune else None,
        amortize_answers=amortize_answers,
    )
    evidence = gather_evidence(
        a_items.values(),
        b_items.values(),
        idle_contended=idle_contended,
        idle_contention_share=idle_contention_share,
    )
    holds, why_not = ranking(evidence, comparison)
    scale = _scale((summary_a, summary_b), grid, requests_per_day, scale_withheld(summary_a, summary_b, comparison))
    sentence, pareto, energy_note = sentences(
        summary_a,
        summary_b,
        comparison,
        energy_quality,
        energy_source,
        continuous,
        metric=metric,
        ranking_holds=holds,
        ranking_why_not=why_not,
    )
    return Verdict(
        task_name=task_name,
        metric=metric,
        continuous=continuous,
        baseline_s0=baseline_s0,
        fine_tune=fine_tune,
        a=summary_a,
        b=summary_b,
        comparison=comparison,
        cegi=cegi,
        scale=scale,
        sentence=sentence,
        pareto=pareto,
        energy_note=energy_note,
        energy_quality=energy_quality,
        energy_source=energy_source,
        grid=grid,
        idle_power_w=idle_power_w,
        seed=seed,
        contention_note=contention_note(evidence),
        contended_windows=evidence.contended_windows,
        windows_with_contention=evidence.windows_with_contention,
        other_cpu_share=evidence.other_cpu_share,
        idle_contended=idle_contended,
        idle_contention_share=idle_contention_share,
        measured_same_way=evidence.measured_same_way,
        ranking_holds=holds,
    )
