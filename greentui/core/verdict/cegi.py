"""CEGI (Kumar et al., arXiv 2412.02602): carbon emission per unit percentage gain per million parameters (pure).

    CEGI = E / (G x P in millions)     E: emissions of the run in g CO2e; lower is better

Head-to-head mode: G = percentage points above the task's baseline s0, P = all parameters of each model.
Fine-tune mode (B = A + an adapter): G = relative gain of B over A in percent (points when s_A is 0), P = the
adapter's trainable parameters, optionally with the training emissions amortised over a number of answers.
G <= 0 gives no CEGI ("no gain"), never a negative number that would rank first.
"""

from __future__ import annotations

from greentui.core.records import Side
from greentui.core.verdict.model import CEGI_FORMULA, Cegi, CegiSide, SideSummary
from greentui.format import format_count, format_grams


def _cegi_side(
    side: Side,
    emissions_g: float | None,
    score: float | None,
    gain: float | None,
    params: int,
    *,
    missing: str | None = None,
) -> CegiSide:
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
    return CegiSide(
        side=side, emissions_g=emissions_g, score=score, gain=gain, params=params, value=value, status=status
    )


def cegi(
    a: SideSummary,
    b: SideSummary,
    *,
    fine_tune: bool,
    baseline_s0: float,
    training_emissions_g: float | None,
    amortize_answers: float | None,
) -> Cegi:
    if not fine_tune:
        sides = tuple(
            _cegi_side(
                s.side,
                s.co2e_g,
                s.accuracy,
                None if s.accuracy is None else 100 * (s.accuracy - baseline_s0),
                s.params_total,
                missing=None if s.n_items else "no items",
            )
            for s in (a, b)
        )
        return Cegi(
            mode="head-to-head",
            formula=CEGI_FORMULA,
            gain_definition=f"percentage points above the task baseline s0 = {100 * baseline_s0:g}%",
            reference_score=baseline_s0,
            points_fallback=False,
            sides=sides,
            amortized=(),
            training_emissions_g=None,
            amortize_answers=None,
            note="",
        )

    s_a, s_b = a.accuracy, b.accuracy
    fallback = s_a == 0
    gain = None
    missing = "no items" if not b.n_items else ("no base score" if s_a is None else None)
    if s_a is not None and s_b is not None:
        gain = 100 * (s_b - s_a) if fallback else 100 * (s_b - s_a) / s_a
    definition = (
        "percentage points over the base model (s_A is 0, so a relative gain is undefined)"
        if fallback
        else "relative gain over the base model, 100 × (s_B - s_A) / s_A"
    )
    note = ""
    inference = (_cegi_side("B", b.co2e_g, s_b, gain, b.params_trainable, missing=missing),)
    amortized: tuple[CegiSide, ...] = ()
    answers: float | None = None
    if training_emissions_g is not None:
        answers = amortize_answers if amortize_answers is not None else float(max(b.n_items, 1))
        # The run's share of the training emissions; never more than all of them.
        share_g = training_emissions_g * min(1.0, b.n_items / answers)
        e_amortized = None if b.co2e_g is None else b.co2e_g + share_g
        amortized = (_cegi_side("B", e_amortized, s_b, gain, b.params_trainable, missing=missing),)
        if amortize_answers is None:
            each = format_grams(training_emissions_g / max(b.n_items, 1))
            note = (
                f"Training emissions {format_grams(training_emissions_g)} CO2e are charged in full to this run's "
                f"{b.n_items} answers ({each} each); --amortize-answers N spreads them over the answers the adapter "
                f"will serve"
            )
        else:
            note = (
                f"Amortised: training {format_grams(training_emissions_g)} CO2e spread over "
                f"{format_count(answers)} answers adds {format_grams(share_g)} to this run's {b.n_items} answers"
            )
    return Cegi(
        mode="fine-tune",
        formula=CEGI_FORMULA,
        gain_definition=definition,
        reference_score=s_a,
        points_fallback=fallback,
        sides=inference,
        amortized=amortized,
        training_emissions_g=training_emissions_g,
        amortize_answers=answers,
        note=note,
    )
