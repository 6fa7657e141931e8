"""core/verdict/ against hand-computed values: CEGI in both modes, the sentence forms, edge cases."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greentui.core.records import GridIntensity, ItemScored, Side
from greentui.core.verdict.compute import (
    CAR_G_PER_KM,
    SideInput,
    Verdict,
    VerdictError,
    compute_verdict,
    scale_lines,
    verdict_lines,
)
from greentui.format import format_grams

GRID = GridIntensity(g_per_kwh=500.0, source="user (--grid-intensity)", country_iso3=None)


def make_items(
    side: Side,
    scores: Sequence[float],
    joules: float | Sequence[float | None] | None = 10.0,
    *,
    start: int = 0,
    seconds: float = 1.0,
    tokens_out: int = 20,
    ttfts: Sequence[float] | None = None,
) -> tuple[ItemScored, ...]:
    items = []
    for offset, score in enumerate(scores):
        index = start + offset
        j = joules[offset] if isinstance(joules, Sequence) else joules
        items.append(
            ItemScored(
                side=side,
                item_id=f"item-{index}",
                index=index,
                prompt=f"question {index}",
                output="out",
                answer="x",
                reference="x",
                score=float(score),
                tokens_in=8,
                tokens_out=tokens_out,
                ttft_s=ttfts[offset] if ttfts else 0.2,
                seconds=seconds,
                joules=j,
                energy_quality="measured",
                energy_source="rapl",
                energy_flagged=False,
                started_mono_s=100.0 + index,
                first_token_mono_s=100.2 + index,
                last_token_mono_s=101.0 + index,
                ended_mono_s=101.0 + index,
            )
        )
    return tuple(items)


def side(
    letter: Side,
    items: tuple[ItemScored, ...],
    *,
    name: str | None = None,
    params: int = 1_000_000,
    trainable: int | None = None,
    adapter: bool = False,
    failed: str | None = None,
) -> SideInput:
    name = name or f"tiny-{letter.lower()}"
    return SideInput(
        side=letter,
        spec=f"{name}@fp32",
        display_name=name,
        params_total=params,
        params_trainable=params if trainable is None else trainable,
        has_adapter=adapter,
        quant="none",
        items=items,
        failed_reason=failed,
    )


def verdict(a: SideInput, b: SideInput, **overrides) -> Verdict:
    options = {
        "task_name": "unit",
        "metric": "accuracy",
        "baseline_s0": 0.5,
        "continuous": False,
        "grid": GRID,
        "idle_power_w": None,
        "energy_quality": "measured",
        "energy_source": "rapl",
    }
    options.update(overrides)
    return compute_verdict(a, b, **options)


def binary(n_correct: int, n: int) -> list[float]:
    return [1.0] * n_correct + [0.0] * (n - n_correct)


# ---------------------------------------------------------------- CEGI


def test_cegi_head_to_head_matches_hand_computed_values() -> None:
    # A: 8/10 correct, 10 x 36 J = 360 J = 1e-4 kWh -> 0.05 g at 500 g/kWh; G = 100 x (0.8 - 0.5) = 30; P = 1 M
    # B: 6/10 correct, 180 J -> 0.025 g; G = 10; P = 2 M
    v = verdict(
        side("A", make_items("A", binary(8, 10), 36.0)),
        side("B", make_items("B", binary(6, 10), 18.0), params=2_000_000),
    )
    assert v.cegi.mode == "head-to-head" and v.cegi.reference_score == 0.5
    cegi_a, cegi_b = v.cegi.sides
    assert cegi_a.emissions_g == pytest.approx(0.05) and cegi_a.gain == pytest.approx(30.0)
    assert cegi_a.params == 1_000_000 and cegi_a.value == pytest.approx(0.05 / 30)
    assert cegi_b.emissions_g == pytest.approx(0.025) and cegi_b.gain == pytest.approx(10.0)
    assert cegi_b.value == pytest.approx(0.025 / (10 * 2))
    text = "\n".join(verdict_lines(v))
    assert "CEGI (head-to-head mode)" in text and "E / (G × P)" in text and "lower is better" in text
    assert "E: each model's run emissions in g CO2e" in text and "P / 1e6" not in text and "(millions)" not in text
    assert "A: E 50.0 mg / (G 30.0 points × P 1 M) = 1.67 mg CO2e per percentage point per million parameters" in text
    assert "B has the better (lower) CEGI: 1.25 mg vs 1.67 mg CO2e per percentage point per million parameters" in text
    assert "e-0" not in text  # no exponent anywhere: small values step down a unit instead


def test_cegi_fine_tune_relative_gain_adapter_params_and_amortised_training() -> None:
    # s_A = 0.5, s_B = 0.8 -> G = 100 x 0.3 / 0.5 = 60 %; P = 500 k adapter parameters; E_B = 720 J = 0.1 g
    a = side("A", make_items("A", binary(5, 10), 36.0), params=1_000_000)
    b = side("B", make_items("B", binary(8, 10), 72.0), params=1_500_000, trainable=500_000, adapter=True)
    v = verdict(a, b, fine_tune=True, training_emissions_g=100.0, amortize_answers=1000)
    assert v.cegi.mode == "fine-tune" and not v.cegi.points_fallback
    (only_b,) = v.cegi.sides
    assert only_b.side == "B" and only_b.gain == pytest.approx(60.0) and only_b.params == 500_000
    assert only_b.value == pytest.approx(0.1 / (60 * 0.5))
    # training 100 g over 1000 answers: this run's 10 answers carry 1 g
    (amortised,) = v.cegi.amortized
    assert amortised.emissions_g == pytest.approx(1.1) and amortised.value == pytest.approx(1.1 / 30)
    assert any("training emissions included" in line for line in verdict_lines(v))
    assert "Only B has a CEGI in fine-tune mode (A is the base model it gains over): 3.33 mg CO2e per % of gain" in (
        "\n".join(verdict_lines(v))
    )

    whole = verdict(a, b, fine_tune=True, training_emissions_g=100.0)  # not amortised: all of it on this run
    assert whole.cegi.amortized[0].emissions_g == pytest.approx(100.1)
    assert whole.cegi.amortize_answers == 10
    assert "Amortised: training 100 g CO2e spread over 1,000 answers adds 1.00 g" in v.cegi.note
    assert whole.cegi.note.startswith("Training emissions 100 g CO2e are charged in full to this run's 10 answers")
    assert "(10.0 g each)" in whole.cegi.note and "--amortize-answers N" in whole.cegi.note


def test_cegi_fine_tune_with_zero_base_score_falls_back_to_points_and_says_so() -> None:
    a = side("A", make_items("A", binary(0, 10), 36.0))
    b = side("B", make_items("B", binary(3, 10), 72.0), trainable=500_000, adapter=True)
    v = verdict(a, b, fine_tune=True)
    assert v.cegi.points_fallback
    assert v.cegi.sides[0].gain == pytest.approx(30.0)  # 100 x (0.3 - 0) points, not a division by zero
    assert v.cegi.sides[0].value == pytest.approx(0.1 / (30 * 0.5))
    assert any("falls back to percentage points" in line for line in verdict_lines(v))


def test_zero_and_negative_gain_are_no_gain_never_a_negative_cegi() -> None:
    at_chance = verdict(side("A", make_items("A", binary(5, 10))), side("B", make_items("B", binary(2, 10))))
    cegi_a, cegi_b = at_chance.cegi.sides
    assert cegi_a.gain == 0 and cegi_a.status == "no gain" and cegi_a.value is None
    assert cegi_b.gain == pytest.approx(-30.0) and cegi_b.status == "no gain" and cegi_b.value is None
    worse = verdict(
        side("A", make_items("A", binary(8, 10))),
        side("B", make_items("B", binary(6, 10)), adapter=True),
        fine_tune=True,
    )
    assert worse.cegi.sides[0].gain == pytest.approx(-25.0) and worse.cegi.sides[0].value is None
    assert "B: CEGI undefined (no gain, G = -25.0 %)" in verdict_lines(worse)


@pytest.mark.parametrize(("params", "expected"), [(1, 0.05 / (30 * 1e-6)), (10**12, 0.05 / (30 * 1e6))])
def test_cegi_with_tiny_and_huge_parameter_counts(params: int, expected: float) -> None:
    v = verdict(
        side("A", make_items("A", binary(8, 10), 36.0), params=params), side("B", make_items("B", binary(8, 10)))
    )
    value = v.cegi.sides[0].value
    assert value == pytest.approx(expected) and math.isfinite(value)
    assert Verdict.from_dict(json.loads(json.dumps(v.to_dict(), allow_nan=False))) == v
    assert any(f"= {format_grams(expected)} CO2e" in line for line in verdict_lines(v))


# ---------------------------------------------------------------- per-side figures


def test_side_figures_energy_dynamic_speed_and_ttft() -> None:
    ttfts = [0.1 * k for k in range(1, 11)]
    a = side("A", make_items("A", binary(5, 10), 10.0, ttfts=ttfts))
    v = verdict(a, side("B", make_items("B", binary(5, 10), 1.0)), idle_power_w=2.0)
    s = v.a
    assert s.energy_j == pytest.approx(100.0) and s.dynamic_energy_j == pytest.approx(80.0)  # 10 x (10 - 2 W x 1 s)
    assert v.b.dynamic_energy_j == 0.0  # 1 J in 1 s is under the 2 W baseline: clamped per item, not negative
    assert s.co2e_g == pytest.approx(100 / 3.6e6 * 500)
    assert s.joules_per_token == pytest.approx(100 / 200) and s.joules_per_correct == pytest.approx(20.0)
    assert s.decode_tokens_per_s_p50 == pytest.approx(19 / 0.8) and s.e2e_tokens_per_s_p50 == pytest.approx(20.0)
    assert s.ttft_p50_s == pytest.approx(0.55) and s.ttft_p95_s == pytest.approx(0.955)
    assert s.accuracy_lo is not None and s.accuracy_lo < 0.5 < s.accuracy_hi
    assert verdict(a, a.__class__(**{**a.__dict__, "side": "B"})).a.dynamic_energy_j is None  # no idle baseline


def test_continuous_scores_use_the_sum_of_scores_as_correct_equivalent() -> None:
    a = side("A", make_items("A", [0.5] * 10, 10.0))
    b = side("B", make_items("B", [0.25] * 10, 10.0))
    v = verdict(a, b, continuous=True, baseline_s0=0.0)
    assert v.a.correct == pytest.approx(5.0) and v.a.joules_per_correct == pytest.approx(20.0)
    assert v.b.joules_per_correct == pytest.approx(40.0)


def test_only_common_items_are_paired_and_duplicates_keep_the_last_result() -> None:
    a_items = make_items("A", binary(20, 20), start=0) + make_items("A", [0.0], start=0)  # item-0 retried: now 0
    v = verdict(side("A", a_items), side("B", make_items("B", binary(20, 20), start=10)))
    assert v.comparison.n_paired == 10
    assert v.a.n_items == 20 and v.a.correct == 19


# ---------------------------------------------------------------- the sentence


def _pair_scores(n: int = 40) -> tuple[list[float], list[float]]:
    """30/40 for A; B loses two of A's correct items and wins one of A's wrong ones: -2.5 points."""
    a = binary(30, n)
    b = list(a)
    b[0] = b[1] = 0.0
    b[35] = 1.0
    return a, b


def test_cheaper_model_within_the_ci_matches() -> None:
    a_scores, b_scores = _pair_scores()
    v = verdict(side("A", make_items("A", a_scores, 10.0)), side("B", make_items("B", b_scores, 8.8)))
    assert v.comparison.outcome == "matches" and v.comparison.cheaper == "B" and v.comparison.more_accurate is None
    assert v.sentence.startswith("B (tiny-b) matches A (tiny-a): accuracy -2.5 points (95% CI -")
    assert v.sentence.endswith("at 88% of A's energy.")
    assert v.pareto == "Pareto: B (tiny-b) is better on energy; on accuracy neither is (difference CI includes 0)."


def test_more_accurate_and_costlier_states_joules_per_extra_correct_answer() -> None:
    a_scores = binary(36, 40)
    b_scores = binary(20, 40)
    v = verdict(side("A", make_items("A", a_scores, 20.0)), side("B", make_items("B", b_scores, 10.0)))
    c = v.comparison
    assert c.outcome == "more_accurate" and c.more_accurate == "A" and c.cheaper == "B"
    assert c.diff_points == pytest.approx(-40.0) and c.diff_hi_points < 0
    assert c.extra_j_per_extra_correct == pytest.approx((800 - 400) / (36 - 20))
    assert v.sentence.startswith("A (tiny-a) scores higher on accuracy than B (tiny-b) by 40.0 points (95% CI +")
    assert "costs 25.0 J per extra correct answer (200% of B's energy)" in v.sentence
    assert v.pareto == "Pareto: A (tiny-a) is better on accuracy, B (tiny-b) on energy: a trade-off."


def test_more_accurate_and_cheaper_dominates() -> None:
    v = verdict(side("A", make_items("A", binary(20, 40), 20.0)), side("B", make_items("B", binary(36, 40), 10.0)))
    assert v.comparison.outcome == "dominates"
    assert v.sentence.startswith("B (tiny-b) scores higher on accuracy than A (tiny-a) by 40.0 points")
    assert v.sentence.endswith("and uses less energy (50% of A's): it dominates.")
    assert "better on both accuracy and energy" in v.pareto


def test_too_close_when_both_cis_straddle() -> None:
    a_scores, b_scores = _pair_scores()
    wobble = [10.0 + (1 if k % 2 else -1) for k in range(40)]
    v = verdict(
        side("A", make_items("A", a_scores, wobble)), side("B", make_items("B", b_scores, [20.0 - w for w in wobble]))
    )
    assert v.comparison.outcome == "too_close" and v.comparison.energy_ratio == pytest.approx(1.0)
    assert v.sentence.startswith("Too close to call: B (tiny-b) vs A (tiny-a), accuracy -2.5 points")
    assert "both differences are within the noise" in v.sentence
    assert v.pareto == "Pareto: neither model is better on accuracy or on energy at 95% confidence."


def test_more_accurate_at_indistinguishable_energy() -> None:
    wobble = [10.0 + (3 if k % 2 else -3) for k in range(40)]
    v = verdict(
        side("A", make_items("A", binary(36, 40), [w - 0.2 for w in wobble])),
        side("B", make_items("B", binary(20, 40), wobble[::-1])),
    )
    assert v.comparison.more_accurate == "A" and v.comparison.cheaper is None
    assert "at about the same energy (98% of B's, 95% CI" in v.sentence
    assert v.pareto.endswith("on energy neither is (ratio CI includes 1).")


def test_too_close_with_fewer_than_five_paired_items() -> None:
    v = verdict(side("A", make_items("A", binary(4, 4))), side("B", make_items("B", binary(0, 4), 1.0)))
    assert v.comparison.n_paired == 4 and v.comparison.diff_points is None
    assert v.sentence.startswith("Too close to call: only 4 item(s) were answered by both models")


def test_more_accurate_without_energy_figures() -> None:
    v = verdict(side("A", make_items("A", binary(36, 40), None)), side("B", make_items("B", binary(20, 40), None)))
    assert v.comparison.more_accurate == "A" and v.comparison.energy_ratio is None
    assert "without energy figures there is no cost per extra correct answer" in v.sentence
    assert v.a.energy_j is None and v.a.joules_per_correct is None and v.cegi.sides[0].status == "no energy"
    assert v.energy_note.startswith("No energy figures")
    assert verdict_lines(v)[-1] == "At scale: no energy figures, so no projection."


def test_estimated_energy_adds_the_estimate_sentence() -> None:
    a_scores, b_scores = _pair_scores()
    a, b = side("A", make_items("A", a_scores, 10.0)), side("B", make_items("B", b_scores, 8.8))
    estimated = verdict(a, b, energy_quality="estimated", energy_source="estimated (no RAPL, no GPU)")
    assert "the ranking holds" in estimated.energy_note and "estimated (no RAPL, no GPU)" in estimated.energy_note
    assert verdict(a, b).energy_note is None


def test_a_side_that_failed_to_load_gives_no_comparison() -> None:
    v = verdict(side("A", make_items("A", binary(8, 10))), side("B", (), failed="out of memory while loading"))
    assert v.comparison.outcome == "incomplete"
    assert v.sentence == "No comparison: B (tiny-b) has no results (out of memory while loading)."
    assert v.b.accuracy is None and v.b.energy_j is None and v.cegi.sides[1].status == "no items"
    assert v.a.accuracy == pytest.approx(0.8)
    assert Verdict.from_dict(json.loads(json.dumps(v.to_dict()))) == v


def test_all_scores_zero() -> None:
    v = verdict(side("A", make_items("A", binary(0, 10), 10.0)), side("B", make_items("B", binary(0, 10), 5.0)))
    assert v.comparison.outcome == "no_correct"
    assert v.sentence.startswith("Neither model scored on the 10 items both answered")
    assert v.a.joules_per_correct is None and all(row.value is None for row in v.cegi.sides)


def test_display_names_that_collide_are_told_apart_by_spec() -> None:
    a = SideInput(
        "A",
        "smollm2-135m@fp32",
        "smollm2-135m",
        134_515_008,
        134_515_008,
        False,
        "none",
        make_items("A", binary(30, 40), 10.0),
    )
    b = SideInput(
        "B",
        "smollm2-135m@nf4",
        "smollm2-135m",
        134_515_008,
        134_515_008,
        False,
        "nf4",
        make_items("B", _pair_scores()[1], 8.8),
    )
    v = verdict(a, b)
    assert v.sentence.startswith("B (smollm2-135m@nf4) matches A (smollm2-135m@fp32)")


# ---------------------------------------------------------------- scale, storage, inputs


def test_scale_per_million_answers_per_year_and_car_equivalence() -> None:
    # 36 J per answer x 1e6 = 10 kWh; a year at 1e6 a day: 3650 kWh x 500 g = 1825 kg. B: half of that.
    v = verdict(side("A", make_items("A", binary(24, 30), 36.0)), side("B", make_items("B", binary(24, 30), 18.0)))
    row_a, row_b = v.scale.sides
    assert row_a.kwh_per_million_answers == pytest.approx(10.0) and row_a.kwh_per_day == pytest.approx(10.0)
    assert row_a.kg_co2e_per_year == pytest.approx(1825.0) and row_b.kg_co2e_per_year == pytest.approx(912.5)
    assert v.scale.equivalence_of == "difference"
    assert v.scale.equivalence_km == pytest.approx(912.5 * 1000 / CAR_G_PER_KM)
    lines = verdict_lines(v)
    assert "At 1 million answers a day: A 10.0 kWh/day, B 5.00 kWh/day" in lines[-3]
    assert "EEA" in lines[-1] and "approximate" in lines[-1]
    slower = verdict(
        side("A", make_items("A", binary(24, 30), 36.0)),
        side("B", make_items("B", binary(24, 30))),
        requests_per_day=1000,
    )
    assert slower.scale.sides[0].kwh_per_day == pytest.approx(0.01)


def test_scale_waits_for_enough_items_and_a_ratio_that_excludes_one() -> None:
    few = verdict(side("A", make_items("A", binary(8, 10), 36.0)), side("B", make_items("B", binary(8, 10), 18.0)))
    assert few.scale.sides == () and few.scale.equivalence_km is None
    (line,) = scale_lines(few)
    assert line == "At scale: no projection; it needs at least 30 items with energy on each side (A has 10, B 10)."
    noisy = [10.0 + (3.0 if k % 2 else -3.0) for k in range(40)]
    same = verdict(
        side("A", make_items("A", binary(30, 40), noisy)), side("B", make_items("B", binary(30, 40), noisy[::-1]))
    )
    assert same.comparison.cheaper is None and same.scale.sides == ()
    assert "an energy ratio whose 95% CI excludes 1 by at least 5% (B/A:" in scale_lines(same)[0]
    assert not any("million answers" in line or " km " in line for line in verdict_lines(same))


def test_verdict_dict_round_trip_is_json_safe() -> None:
    a_scores, b_scores = _pair_scores()
    a = side("A", make_items("A", a_scores, 10.0))
    b = side("B", make_items("B", b_scores, 8.8), trainable=1000, adapter=True)
    v = verdict(a, b, fine_tune=True, training_emissions_g=5.0, amortize_answers=1e6, idle_power_w=1.5, seed=3)
    data = json.loads(json.dumps(v.to_dict(), allow_nan=False))
    again = Verdict.from_dict(data)
    assert again == v and again.grid == GRID and isinstance(again.cegi.sides, tuple)


def test_the_same_inputs_and_seed_give_the_same_verdict() -> None:
    a_scores, b_scores = _pair_scores()
    a, b = side("A", make_items("A", a_scores, 10.0)), side("B", make_items("B", b_scores, 8.8))
    assert verdict(a, b, seed=5) == verdict(a, b, seed=5)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("baseline_s0", 1.5, "baseline s0"),
        ("requests_per_day", 0, "request rate"),
        ("amortize_answers", 0, "positive number of answers"),
        ("training_emissions_g", -1.0, "negative"),
    ],
)
def test_out_of_range_inputs_raise_a_one_line_error(option: str, value: float, message: str) -> None:
    with pytest.raises(VerdictError, match=message):
        verdict(side("A", make_items("A", binary(5, 10))), side("B", make_items("B", binary(5, 10))), **{option: value})


@settings(max_examples=100, deadline=None)
@given(
    scores_a=st.lists(st.sampled_from([0.0, 1.0]), max_size=12),
    scores_b=st.lists(st.sampled_from([0.0, 1.0]), max_size=12),
    joules=st.one_of(st.none(), st.floats(0.0, 1e4)),
    offset=st.integers(0, 12),
    params=st.integers(0, 10**12),
    s0=st.floats(0.0, 1.0),
    fine_tune=st.booleans(),
)
def test_any_input_gives_a_storable_verdict_and_never_a_negative_cegi(
    scores_a: list[float],
    scores_b: list[float],
    joules: float | None,
    offset: int,
    params: int,
    s0: float,
    fine_tune: bool,
) -> None:
    v = verdict(
        side("A", make_items("A", scores_a, joules), params=params),
        side("B", make_items("B", scores_b, joules, start=offset), params=params),
        baseline_s0=s0,
        fine_tune=fine_tune,
        training_emissions_g=1.0 if fine_tune else None,
        idle_power_w=1.0,
    )
    assert v.sentence and v.pareto
    for row in v.cegi.sides + v.cegi.amortized:
        assert row.value is None or (row.value >= 0 and math.isfinite(row.value))  # 0 g: a zero-carbon grid
        assert (row.value is None) == (row.status != "ok")
    assert Verdict.from_dict(json.loads(json.dumps(v.to_dict(), allow_nan=False))) == v
    assert all(isinstance(line, str) and line for line in verdict_lines(v))


# ---------------------------------------------------------------- served models: no token counts, energy elsewhere


def test_items_without_token_counts_are_left_out_of_joules_per_token_only() -> None:
    import dataclasses

    counted = make_items("A", binary(3, 6), joules=10.0, tokens_out=20)
    # a server that reported usage for the first three answers only (each 10 J)
    mixed = counted[:3] + tuple(
        dataclasses.replace(i, tokens_in=None, tokens_out=None, tokens_counted_by="not reported") for i in counted[3:]
    )
    v = verdict(side("A", mixed), side("B", make_items("B", binary(3, 6))))
    assert v.a.energy_j == 60.0 and v.a.tokens_out == 60
    assert v.a.joules_per_token == pytest.approx(30.0 / 60)  # the three counted items: 30 J over 60 tokens
    assert v.a.tokens_counted_by == "generated ids (3), not reported (3)"
    assert "Token counts for A: generated ids (3), not reported (3)." in (v.energy_note or "")
    none = tuple(dataclasses.replace(i, tokens_out=None, tokens_counted_by="not reported") for i in counted)
    v = verdict(side("A", none), side("B", make_items("B", binary(3, 6))))
    assert v.a.tokens_out is None and v.a.joules_per_token is None and v.a.joules_per_correct == 20.0
    assert Verdict.from_dict(json.loads(json.dumps(v.to_dict()))) == v


def test_a_lane_measured_elsewhere_is_said_so_and_never_counted_as_zero() -> None:
    import dataclasses

    note = "energy not measured here: the server gpu-box:8000 runs on another host"
    elsewhere = tuple(
        dataclasses.replace(i, joules=None, energy_source=note) for i in make_items("B", binary(5, 6), joules=1.0)
    )
    a = side("A", make_items("A", binary(4, 6)))  # 4 of 6 against the baseline 0.5: a gain
    b = dataclasses.replace(side("B", elsewhere), energy_note=note)
    v = verdict(a, b)
    assert v.b.energy_j is None and v.b.co2e_g is None and v.b.energy_note == note
    assert v.comparison.energy_ratio is None and v.comparison.cheaper is None
    assert v.energy_note is not None and v.energy_note.startswith(f"B: E{note[1:]}.")
    assert "covers 0 of its" not in v.energy_note and "No energy figures" not in v.energy_note
    assert [s.status for s in v.cegi.sides] == ["ok", "no energy"]
    assert Verdict.from_dict(v.to_dict()).b.energy_note == note
