"""The verdict in words: the one-sentence conclusion, the Pareto line, CEGI and scale lines.

Pure functions over :mod:`greentui.core.verdict.model` records; the TUI, the CLI and the markdown export all print
these same lines. Every figure in them is written by :mod:`greentui.format`, the one formatter.
"""

from __future__ import annotations

from greentui.core.records import CONTENDED_CPU_SHARE, Quality, Side
from greentui.core.verdict.evidence import Evidence
from greentui.core.verdict.model import (
    MIN_PAIRED_ITEMS,
    CegiSide,
    Comparison,
    SideSummary,
    Verdict,
)
from greentui.format import (
    format_count,
    format_cpu_share,
    format_fixed,
    format_grams,
    format_intensity,
    format_joules,
    format_number,
    format_params,
    format_points,
    format_share,
)


def verdict_lines(verdict: Verdict) -> list[str]:
    """Plain-text lines: sentence, Pareto line, notes (contention, energy), the stopping rule (if any), CEGI lines,
    scale lines."""
    lines = [verdict.sentence, verdict.pareto]
    if verdict.contention_note:
        lines.append(verdict.contention_note)
    if verdict.energy_note:
        lines.append(verdict.energy_note)
    if verdict.stopping is not None:
        from greentui.core.verdict.stopping import stopping_lines  # it formats with this module's helpers

        lines.extend(stopping_lines(verdict.stopping))
    lines.extend(cegi_lines(verdict))
    lines.extend(scale_lines(verdict))
    return lines


# --------------------------------------------------------------------------------------------------
# Words: the sentence, the Pareto line, CEGI and scale lines
# --------------------------------------------------------------------------------------------------

# Token counts that need no remark: counted from the generated ids in process, or reported by the server.
TOKENS_FROM_MODEL = ("generated ids", "reported by the server")

# One everyday equivalence, cited by name. Type-approval figure: real-world driving emits more.
CAR_G_PER_KM = 106.6
CAR_SOURCE = (
    "EEA: new passenger cars registered in Europe in 2023 averaged about 106.6 g CO2/km, "
    "WLTP type-approval; an approximate equivalence"
)


def model_label(s: SideSummary, other: SideSummary) -> str:
    """ "B (smollm2-135m@nf4)": the display name, or the spec where both sides share a display name."""
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
    return _inverse(r), _inverse(hi), _inverse(lo)


def _inverse(x: float | None) -> float | None:
    """1 / x, or None for 0 or None (a resample of zero joules has no inverse)."""
    return 1 / x if x else None


def _ci(lo: float, hi: float) -> str:
    return f"95% CI {format_points(lo)} … {format_points(hi)}"


def sentences(
    a: SideSummary,
    b: SideSummary,
    c: Comparison,
    quality: Quality,
    source: str,
    continuous: bool,
    *,
    metric: str = "accuracy",
    ranking_holds: bool = False,
    ranking_why_not: str = "",
) -> tuple[str, str, str | None]:
    """The sentence (naming the task's metric), the Pareto line and the energy note."""
    label = {"A": model_label(a, b), "B": model_label(b, a)}
    other: dict[Side, Side] = {"A": "B", "B": "A"}
    answer = "correct-equivalent answer" if continuous else "correct answer"
    m = c.more_accurate
    if c.outcome == "incomplete":
        missing = [
            f"{label[s.side]} has no results" + (f" ({s.failed_reason})" if s.failed_reason else "")
            for s in (a, b)
            if not s.n_items
        ]
        sentence = "No comparison: " + " and ".join(missing) + "."
    elif c.n_paired < MIN_PAIRED_ITEMS:
        sentence = (
            f"Too close to call: only {c.n_paired} item(s) were answered by both models; a paired "
            f"comparison needs at least {MIN_PAIRED_ITEMS}."
        )
    elif c.outcome == "no_correct":
        sentence = (
            f"Neither model scored on the {c.n_paired} items both answered: {label['A']} and {label['B']} "
            "both scored 0" + (f"; B used {format_share(c.energy_ratio)} of A's energy." if c.energy_ratio else ".")
        )
    elif c.outcome == "matches" and c.cheaper is not None:
        cheap = c.cheaper
        d, lo, hi = _diff_for(c, cheap)
        sentence = (
            f"{label[cheap]} matches {label[other[cheap]]}: {metric} {format_points(d)} points ({_ci(lo, hi)}) "
            f"at {format_share(_ratio_for(c, cheap)[0])} of {other[cheap]}'s energy."
        )
    elif m is None:
        d, lo, hi = _diff_for(c, "B")
        head = f"Too close to call: {label['B']} vs {label['A']}, {metric} {format_points(d)} points ({_ci(lo, hi)})"
        if c.energy_ratio is None:
            sentence = head + " and no energy figures to separate them."
        else:
            sentence = (
                head + f" at {format_share(c.energy_ratio)} of A's energy (95% CI {format_share(c.energy_ratio_lo)} … "
                f"{format_share(c.energy_ratio_hi)}): both differences are within the noise."
            )
    else:
        less = other[m]
        d, lo, hi = _diff_for(c, m)
        head = f"{label[m]} scores higher on {metric} than {label[less]} by {format_fixed(d, 1)} points ({_ci(lo, hi)})"
        r, r_lo, r_hi = _ratio_for(c, m)
        if c.energy_ratio is None:
            sentence = head + f"; without energy figures there is no cost per extra {answer}."
        elif c.outcome == "dominates":
            sentence = head + f" and uses less energy ({format_share(r)} of {less}'s): it dominates."
        elif r is not None and r <= 1:
            sentence = (
                head
                + f" at about the same energy ({format_share(r)} of {less}'s, 95% CI {format_share(r_lo)} … {format_share(r_hi)})."
            )
        elif c.extra_j_per_extra_correct is not None:
            sentence = (
                head + f" and costs {format_joules(c.extra_j_per_extra_correct)} per extra {answer} "
                f"({format_share(r)} of {less}'s energy)."
            )
        else:
            sentence = head + f" at {format_share(r)} of {less}'s energy."

    if c.outcome == "incomplete" or c.n_paired < MIN_PAIRED_ITEMS:
        pareto = "Pareto: not enough items answered by both models to rank them."
    elif m is not None and c.cheaper == m:
        pareto = f"Pareto: {label[m]} is better on both {metric} and energy (it dominates)."
    elif m is not None and c.cheaper is not None:
        pareto = f"Pareto: {label[m]} is better on {metric}, {label[c.cheaper]} on energy: a trade-off."
    elif m is not None:
        pareto = f"Pareto: {label[m]} is better on {metric}; " + (
            "energy was not measured." if c.energy_ratio is None else "on energy neither is (ratio CI includes 1)."
        )
    elif c.cheaper is not None:
        pareto = f"Pareto: {label[c.cheaper]} is better on energy; on {metric} neither is (difference CI includes 0)."
    else:
        pareto = f"Pareto: neither model is better on {metric} or on energy at 95% confidence."

    notes = []
    elsewhere = [s for s in (a, b) if s.energy_note]  # served lanes whose server is not measured here
    for s in elsewhere:
        notes.append(f"{s.side}: {_sentence(s.energy_note or '')}")
    if a.energy_j is None and b.energy_j is None:
        if len(elsewhere) < 2:
            notes.append("No energy figures: the power source reported none, so energy, CO2e and CEGI are unavailable.")
    elif quality == "estimated" and ranking_holds:
        notes.append(
            "Estimated energy: both models were estimated the same way on this host, on a quiet machine, and the "
            "energy ratio's 95% CI excludes 1, so the ranking holds; the absolute joules and grams are estimates "
            f"(no power sensor; power source: {source})."
        )
    elif quality == "estimated":
        notes.append(
            f"Estimated energy (no power sensor; power source: {source}): the absolute joules and grams are "
            f"estimates, and no energy ranking is claimed: {ranking_why_not}."
        )
    elif not ranking_holds and ranking_why_not and c.energy_ratio is not None:
        notes.append(f"No energy ranking is claimed: {ranking_why_not}.")
    for s in (a, b):
        if s.n_items and s.energy_items < s.n_items and not (s.energy_note and not s.energy_items):
            notes.append(f"Energy for {s.side} covers {s.energy_items} of its {s.n_items} items.")
        if s.n_items and s.tokens_counted_by and s.tokens_counted_by not in TOKENS_FROM_MODEL:
            notes.append(f"Token counts for {s.side}: {s.tokens_counted_by}.")
    return sentence, pareto, " ".join(notes) or None


def _sentence(line: str) -> str:
    """A lower-case one-line note as a sentence: capitalised, ending with a full stop."""
    line = line.strip()
    if not line:
        return line
    return line[0].upper() + line[1:] + ("" if line.endswith(".") else ".")


def _cegi_unit(cegi_mode: str, points: bool) -> tuple[str, str]:
    """(G's unit in a formula, the CEGI's unit in words)."""
    if cegi_mode == "head-to-head" or points:
        return "points", "per percentage point per million parameters"
    return "%", "per % of gain per million trainable parameters"


def _cegi_side_line(row: CegiSide, unit: str, per: str) -> str:
    if row.value is not None:
        return (
            f"{row.side}: E {format_grams(row.emissions_g)} / (G {format_number(row.gain or 0)} {unit} × "
            f"P {format_params(row.params)}) = {format_grams(row.value)} CO2e {per}"
        )
    gain = "" if row.gain is None else f", G = {format_points(row.gain)} {unit}"
    return f"{row.side}: CEGI undefined ({row.status}{gain})"


def cegi_comparison(rows: tuple[CegiSide, ...], per: str) -> str | None:
    """Which model has the better (lower) CEGI, and by how much, in words."""
    known = [r for r in rows if r.value is not None]
    if len(rows) == 1 and known:  # fine-tune mode: B's gain over its own base model
        return (
            f"Only {known[0].side} has a CEGI in fine-tune mode (A is the base model it gains over): "
            f"{format_grams(known[0].value)} CO2e {per}."
        )
    if len(rows) < 2:
        return None
    if len(known) == 1:
        missing = next(r for r in rows if r.value is None)
        return f"Only {known[0].side} has a CEGI ({missing.side}: {missing.status}); lower is better."
    if not known:
        return "Neither model has a CEGI, so CEGI ranks neither."
    low, high = sorted(known, key=lambda r: r.value or 0.0)
    if low.value == high.value or not low.value:
        return f"Both models have the same CEGI: {format_grams(low.value)} CO2e {per}."
    times = (high.value or 0.0) / low.value
    return (
        f"{low.side} has the better (lower) CEGI: {format_grams(low.value)} vs {format_grams(high.value)} CO2e "
        f"{per}, {format_number(times, 2)}× lower than {high.side}'s."
    )


def cegi_lines(verdict: Verdict) -> list[str]:
    """The CEGI block: formula and mode with each input's unit, each side's inputs and value, which is better."""
    cegi = verdict.cegi
    unit, per = _cegi_unit(cegi.mode, cegi.points_fallback)
    if cegi.mode == "fine-tune":
        what = "E: model B's run emissions in g CO2e (total energy); P: the adapter's trainable parameters"
    else:
        what = "E: each model's run emissions in g CO2e (total energy); P: all parameters of the model"
    lines = [
        f"CEGI ({cegi.mode} mode): {cegi.formula}, lower is better. {what}, in millions (M); G: {cegi.gain_definition}."
    ]
    only = "  (inference only)" if cegi.amortized else ""
    lines.extend(_cegi_side_line(row, unit, per) + only for row in cegi.sides)
    lines.extend(f"{_cegi_side_line(row, unit, per)}  (training emissions included)" for row in cegi.amortized)
    words = cegi_comparison(cegi.sides, per)
    c = verdict.comparison
    if words and len(cegi.sides) == 2 and c.more_accurate is None and c.cheaper is None and "lower than" in words:
        # CEGI divides emissions by gain: with neither established, its difference is the noise of both
        words += f" Neither {verdict.metric} nor energy differs at 95% confidence, so this difference is noise."
    if words:
        lines.append(words)
    if cegi.points_fallback:
        lines.append("s_A is 0: G falls back to percentage points (a relative gain over 0 is undefined).")
    if cegi.note:
        lines.append(cegi.note)
    return lines


def busy_line(share: float | None, *, process_scope: bool = False, contended: int = 0, windows: int = 0) -> str:
    """The one plain line every view prints when the machine was busy while greentui measured."""
    what = "a lot of CPU time" if share is None else format_cpu_share(share)
    line = f"the machine was busy: {what} went to other programs"
    if windows and 0 < contended < windows:
        line += f" ({contended} of {windows} measurements above the {100 * CONTENDED_CPU_SHARE:.0f} % limit)"
    if process_scope:
        return line + "; the CPU estimate charges each model only its own processes, but their work slowed the run"
    return line + "; energy includes their work"


def contention_note(evidence: Evidence) -> str | None:
    """The verdict's contention line (and why dynamic energy is missing), or None on a quiet machine."""
    parts = []
    if evidence.contended_windows:
        line = busy_line(
            evidence.other_cpu_share,
            process_scope=evidence.process_scope,
            contended=evidence.contended_windows,
            windows=evidence.windows_with_contention,
        )
        parts.append(line[0].upper() + line[1:] + ".")
    if evidence.idle_contended:
        share = evidence.idle_contention_share
        during = "" if share is None else f" ({format_cpu_share(share)} went to other programs)"
        parts.append(
            f"The idle baseline was taken on a busy machine{during}, so it is not used: dynamic energy is not "
            "available (machine busy during the baseline)."
        )
    return " ".join(parts) or None


def scale_lines(verdict: Verdict) -> list[str]:
    """What the run means at the user's request rate, with one cited everyday equivalence."""
    scale, grid = verdict.scale, verdict.grid
    if scale.withheld:
        return [scale.withheld]
    known = [r for r in scale.sides if r.kwh_per_day is not None]
    if not known:
        return ["At scale: no energy figures, so no projection."]
    where = f"{grid.country_iso3} grid, " if grid.country_iso3 else "grid "
    per_day = ", ".join(f"{r.side} {format_number(r.kwh_per_day or 0.0)} kWh/day" for r in known)
    per_year = " vs ".join(format_grams(1000 * (r.kg_co2e_per_year or 0.0)) for r in known)
    per_million = "; ".join(
        f"{r.side} {format_number(r.kwh_per_million_answers or 0.0)} kWh "
        f"({format_grams(1000 * (r.kg_co2e_per_million_answers or 0.0))} CO2e)"
        for r in known
    )
    lines = [
        f"At {format_count(scale.requests_per_day)} answers a day: {per_day} ({where}"
        f"{format_intensity(grid.g_per_kwh, short=True)}: {per_year} CO2e a year)",
        f"Per million answers: {per_million}",
    ]
    if scale.equivalence_km is not None and scale.equivalence_kg_per_year:
        what = "The difference" if scale.equivalence_of == "difference" else f"{scale.equivalence_of}'s total"
        lines.append(
            f"{what}, {format_grams(1000 * scale.equivalence_kg_per_year)} CO2e a year, is roughly "
            f"{format_number(scale.equivalence_km, 2)} km driven in an average new car "
            f"({scale.equivalence_source})."
        )
    return lines
