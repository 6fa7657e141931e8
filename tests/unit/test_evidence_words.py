"""The words around the numbers: intervals only from 5 items, float noise printed as 0, small emissions in mg/µg
rather than exponents, the sentence naming the task's metric, the ranking claimed only with its evidence, and the
busy line when other programs used the machine."""

from __future__ import annotations

import dataclasses

import pytest

from greentui.core.records import IdleMeasured, ItemScored
from greentui.core.run.judge import session_verdict, verdict_from_tally
from greentui.core.run.tally import Tally
from greentui.core.verdict.text import busy_line
from greentui.format import (
    format_energy,
    format_grams,
    format_j_per_token,
    format_joules,
    format_number,
    format_score,
    format_seconds,
    format_wh,
)
from greentui.text.report import comparison_rows
from tests.helpers.events import loaded, scored, started


def test_an_interval_needs_five_items() -> None:
    assert format_score(0.5, 0.49, 0.51, 2) == "50.0% (n = 2: too few for an interval)"
    assert format_score(0.8, 0.6, 0.9, 5) == "80.0% (60.0–90.0)"
    assert format_score(0.412, 0.3, 0.5, 9, continuous=True) == "41.2 (30.0–50.0)"  # points, no % sign
    assert format_score(0.8, 0.6, 0.9, 5, compact=True) == "80.0% (60–90)"  # a narrow tile
    assert format_score(None) == "—"


def test_float_noise_prints_as_zero_and_small_values_carry_a_smaller_unit() -> None:
    assert format_joules(8.5e-12) == "0 J" and format_energy(8.5e-12) == "0 J" and format_wh(8.5e-12) == "0 Wh"
    assert format_j_per_token(8.5e-12) == "0" and format_seconds(8.5e-12) == "0 ms"
    assert format_number(5.2e-5) == "0.0000520" and "e" not in format_number(1.5e-6)
    assert format_grams(1.23e-5) == "12.3 µg" and format_grams(0.05) == "50.0 mg" and format_grams(2.5e-9) == "2.50 ng"
    assert format_grams(1500.0) == "1.50 kg" and format_grams(0) == "0 g" and format_grams(None) == "—"


def test_the_busy_line_reads_plainly() -> None:
    assert (
        busy_line(0.61) == "the machine was busy: 61 % of CPU time went to other programs; energy includes their work"
    )
    assert "(3 of 10 measurements above the 25 % limit)" in busy_line(0.3, contended=3, windows=10)
    assert "charges each model only its own processes" in busy_line(0.5, process_scope=True)


def events_for(metric: str, *, contended: bool = False, idle_contended: bool = False) -> Tally:
    tally = Tally()
    first = started(6)
    first = dataclasses.replace(first, task=dataclasses.replace(first.task, metric=metric))
    tally.apply(first)
    for side in "AB":
        tally.apply(loaded(side))  # type: ignore[arg-type]
    tally.apply(
        IdleMeasured(
            seconds=2.0,
            joules=20.0,
            power_w=10.0,
            quality="estimated",
            source="estimate",
            t_mono_s=1.0,
            contention_share=0.7 if idle_contended else 0.02,
            contended=idle_contended,
        )
    )
    for i in range(6):
        a: ItemScored = scored("A", i, score=1.0, joules=30.0, start=10.0 + 4 * i, seconds=2.0)
        b: ItemScored = scored("B", i, score=1.0 if i < 2 else 0.0, joules=15.0, start=12.0 + 4 * i, seconds=2.0)
        for item in (a, b):
            tally.apply(
                dataclasses.replace(
                    item,
                    measurement_method="integrated",
                    energy_scope="process tree",
                    contention_share=0.6 if contended else 0.05,
                    contended=contended,
                    score_detail="label matches",
                )
            )
    return tally


def test_the_sentence_names_the_tasks_metric() -> None:
    verdict = verdict_from_tally(events_for("ROUGE-L F1"))
    assert "ROUGE-L F1" in verdict.sentence and "accuracy" not in verdict.sentence
    assert "on ROUGE-L F1" in verdict.pareto


def test_the_ranking_holds_only_on_a_quiet_machine_with_a_clear_ratio() -> None:
    quiet = verdict_from_tally(events_for("accuracy"))
    assert quiet.comparison.cheaper == "B" and quiet.ranking_holds and quiet.contention_note is None
    assert "the ranking holds" in (quiet.energy_note or "")
    busy = verdict_from_tally(events_for("accuracy", contended=True))
    assert not busy.ranking_holds and "the ranking holds" not in (busy.energy_note or "")
    assert "12 measurement(s) were disturbed by other programs" in (busy.energy_note or "")
    assert busy.contention_note is not None and busy.contention_note.startswith(
        "The machine was busy: 60 % of CPU time went to other programs"
    )


def test_a_busy_baseline_gives_no_dynamic_energy_never_zero() -> None:
    tally = events_for("accuracy", idle_contended=True)
    verdict = verdict_from_tally(tally)
    assert verdict.idle_contended and verdict.a.dynamic_energy_j is None and verdict.b.dynamic_energy_j is None
    rows = {figure: (a, b) for figure, a, b in comparison_rows(verdict)}
    assert rows["energy (dynamic)"] == ("not available (machine busy during the baseline)",) * 2
    assert "70 % of CPU time went to other programs" in (verdict.contention_note or "")
    assert "dynamic energy is not available" in (tally.busy_line() or "")
    quiet = verdict_from_tally(events_for("accuracy"))
    assert quiet.a.dynamic_energy_j == pytest.approx(6 * (30.0 - 10.0 * 2.0))


def test_a_stored_verdict_of_an_older_format_is_recomputed() -> None:
    tally = events_for("accuracy")
    current = verdict_from_tally(tally)
    assert session_verdict(current.to_dict(), tally) == current
    older = {**current.to_dict(), "format_version": 1}
    assert session_verdict(older, tally) == current  # recomputed from the same items and seed
    assert session_verdict({"format_version": 1, "sentence": "x"}, tally) == current  # a stub
    assert session_verdict({"format_version": 2, "sentence": "x"}, tally) == current  # damaged
    assert session_verdict(None, Tally()) is None


def test_the_live_header_and_each_lane_say_the_machine_was_busy() -> None:
    from greentui.tui.views import header_view, lane_busy_line, lane_view
    from greentui.tui.widgets.session_header import session_summary

    busy = events_for("accuracy", contended=True)
    header = session_summary(header_view(busy, "running")).plain
    assert "the machine was busy: 60 % of CPU time went to other programs" in header
    assert (
        lane_busy_line(busy.sides["A"]) == " machine busy in 6 of 6 measurements: 60 % of CPU time to other programs "
    )
    assert lane_view(busy, "A").subtitle == lane_busy_line(busy.sides["A"])  # the line under lane A
    quiet = events_for("accuracy")
    assert "busy" not in session_summary(header_view(quiet, "running")).plain
    assert lane_busy_line(quiet.sides["B"]) is None and lane_view(quiet, "B").subtitle is None
