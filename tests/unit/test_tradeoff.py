"""The trade-off chart's data: the store's per-run sums, the intervals built from them, the Pareto frontier."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from greentui.core.verdict.stats import wilson_interval
from greentui.store import SessionStore
from greentui.store.tradeoff import RunPoint, run_points
from greentui.tui.tradeoff import chart_points, energy_interval, pareto_frontier, score_interval
from tests.tui.fakes import fill_store, race_events

BASE = RunPoint(
    session_id="s1", side="A", spec="m", task_id="t", task_name="T", task_version=None, metric="accuracy",
    continuous=False, status="completed", sweep_id=None, started_unix_s=0.0, power_quality="measured",
    n=10, score_sum=7.0, score_sq_sum=7.0, n_energy=10, e_joules_sum=100.0, e_joules_sq_sum=1100.0,
    e_score_sum=7.0, e_score_sq_sum=7.0, e_joules_score_sum=70.0, estimated_items=0,
)  # fmt: skip


def point(**fields: object) -> RunPoint:
    return dataclasses.replace(BASE, **fields)  # type: ignore[arg-type]


def test_the_store_sums_each_run_of_a_task(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    events = race_events()
    fill_store(store, events)
    fill_store(store, race_events(n_items=6, session_id="77aa00bb11cc", task=("arithmetic", "Arithmetic", "reasoning")))
    runs = run_points(store, task_id="sentiment")
    assert [(r.session_id, r.side) for r in runs] == [("8f3a2c1b9d04", "A"), ("8f3a2c1b9d04", "B")]
    scored = [e for e in events if type(e).__name__ == "ItemScored" and e.side == "A"]
    a = runs[0]
    assert a.spec == "smollm2-135m@fp32" and a.metric == "accuracy" and not a.continuous and a.estimated
    assert a.n == len(scored) == 8 and a.score_sum == sum(e.score for e in scored)
    assert a.e_joules_sum == pytest.approx(sum(e.joules for e in scored))
    assert a.e_joules_sq_sum == pytest.approx(sum(e.joules**2 for e in scored))
    assert a.e_joules_score_sum == pytest.approx(sum(e.joules * e.score for e in scored))
    assert len(run_points(store)) == 4
    store.close()


def test_score_intervals_wilson_for_binary_normal_for_continuous() -> None:
    binary = score_interval(point())
    assert (binary.lo, binary.hi) == pytest.approx(wilson_interval(7, 10, z=1.959964))
    continuous = score_interval(point(continuous=True, score_sum=5.0, score_sq_sum=2.9))
    sd = math.sqrt((2.9 - 25.0 / 10) / 9)
    assert continuous.value == pytest.approx(0.5)
    assert continuous.hi - continuous.value == pytest.approx(1.959964 * sd / math.sqrt(10))


def test_energy_per_item_and_per_correct_answer() -> None:
    run = point()
    per_item = energy_interval(run, "item")
    assert per_item is not None and per_item.value == pytest.approx(10.0)
    assert per_item.hi - per_item.value == pytest.approx(1.959964 * math.sqrt((1100 - 1000) / 9 / 10))
    per_correct = energy_interval(run, "correct")
    assert per_correct is not None and per_correct.value == pytest.approx(100.0 / 7)
    # every answer right: J per correct answer is J per item, interval and all
    all_right = point(
        score_sum=10.0, score_sq_sum=10.0, e_score_sum=10.0, e_score_sq_sum=10.0, e_joules_score_sum=100.0
    )
    assert energy_interval(all_right, "correct") == energy_interval(all_right, "item")
    assert energy_interval(point(e_score_sum=0.0, e_joules_score_sum=0.0), "correct") is None
    assert energy_interval(point(n_energy=0, e_joules_sum=0.0), "item") is None


def test_the_frontier_keeps_the_runs_nothing_beats() -> None:
    runs = [
        point(session_id="cheap-bad", score_sum=5.0, e_joules_sum=50.0, e_joules_sq_sum=260.0),
        point(session_id="mid", score_sum=7.0, e_joules_sum=80.0, e_joules_sq_sum=650.0),
        point(session_id="dominated", score_sum=6.0, e_joules_sum=90.0, e_joules_sq_sum=820.0),
        point(session_id="best", score_sum=9.0, e_joules_sum=150.0, e_joules_sq_sum=2300.0),
    ]
    points = chart_points(runs, "item", current_session="mid", sweep=None)
    assert [p.run.session_id for p in pareto_frontier(points)] == ["cheap-bad", "mid", "best"]
    assert [p.on_frontier for p in points] == [True, True, False, True]
    assert [p.current for p in points] == [False, True, False, False]
    swept = chart_points([dataclasses.replace(runs[0], sweep_id="night")], "item", sweep="night")
    assert swept[0].in_sweep
