"""Stopping when settled, in a real session with fake models (inline workers) and a replayed power trace: a big gap
stops early, identical models never get a winner, the parameters and the seeded order are stored and reproducible,
and the tally (live screen, replay, verdict) recomputes exactly what the session emitted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from greentui.core.evaluate.tasks import load_task
from greentui.core.records import Event, ItemScored, ItemStarted, SessionFinished, SessionStarted, StoppingChecked
from greentui.core.run.judge import verdict_from_tally
from greentui.core.run.schedule import run_order
from greentui.core.run.session import Session, SessionConfig, SessionError
from greentui.core.run.stopping import PairStopper, run_items
from greentui.core.run.tally import Tally
from greentui.core.verdict.compute import Verdict
from greentui.core.verdict.stopping import stopping_lines

WRONG = "fake:never?tps=2000&tokens=4&accuracy=0"
RIGHT = "fake:always?tps=2000&tokens=4&accuracy=1"
HALF = "fake:coin?tps=2000&tokens=4&accuracy=0.5&seed=3"


@pytest.fixture()
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "const.csv"
    path.write_text("t_s,power_w\n0,20\n1,20\n")
    return path


def make(trace: Path, **overrides: object) -> SessionConfig:
    base: dict[str, object] = {
        "model_a": WRONG,
        "model_b": RIGHT,
        "task": "arithmetic",
        "idle_s": 0.0,
        "power_source": f"replay:{trace}",
        "sample_hz": 20.0,
        "stop_when_settled": True,
    }
    return SessionConfig(**(base | overrides))  # type: ignore[arg-type]


def run(config: SessionConfig) -> tuple[str, list[Event], Session]:
    session = Session(config, inline_workers=True)
    seen: list[Event] = []
    session.subscribe(seen.append)
    return session.run(), seen, session


def of(events: list[Event], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def test_a_big_gap_settles_early_and_stops(trace: Path) -> None:
    status, events, _ = run(make(trace, max_items=60))
    checks = of(events, StoppingChecked)
    finished = events[-1]
    assert status == "completed" and isinstance(finished, SessionFinished)
    assert finished.reason.startswith("settled: B more accurate after")
    # 0% against 100%: the sequence needs only a handful of pairs, far fewer than the 60 allowed
    assert 5 <= len(checks) < 30
    assert [c.n_pairs for c in checks] == list(range(1, len(checks) + 1))
    assert not any(c.settled for c in checks[:-1]) and checks[-1].settled and checks[-1].stops
    assert checks[-1].accuracy_outcome == "B" and checks[-1].accuracy_lo > 0
    assert all(c.population == 120 and c.planned == 60 for c in checks)
    assert all(c.energy_lo is not None and c.energy_hi is not None for c in checks)  # the trace gives joules
    scored = of(events, ItemScored)
    assert {s.side for s in scored} == {"A", "B"} and len(scored) == 2 * len(checks)  # no item after the stop


def test_identical_models_never_get_a_winner(trace: Path) -> None:
    # the same fake with the same seed answers every item the same way: every paired difference is 0
    status, events, _ = run(make(trace, model_a=HALF, model_b=HALF, max_items=40))
    checks = of(events, StoppingChecked)
    assert status == "completed"
    assert checks and all(c.accuracy_outcome not in ("A", "B") for c in checks)
    assert all(c.accuracy_lo <= 0 <= c.accuracy_hi for c in checks)


def test_without_stop_when_settled_the_rule_watches_but_the_run_goes_on(trace: Path) -> None:
    status, events, _ = run(make(trace, stop_when_settled=False, order_seed=5, max_items=30))
    checks = of(events, StoppingChecked)
    assert status == "completed" and events[-1].reason == ""
    assert len(checks) == 30 and checks[-1].settled and not any(c.stops for c in checks)


def test_parameters_and_the_drawn_order_seed_are_stored(trace: Path) -> None:
    config = make(trace, alpha=0.1, delta=0.08, max_items=12)
    assert config.order_seed is None
    _, events, session = run(config)
    settings = events[0].stored_settings()  # the flat shape the store keeps
    assert isinstance(events[0], SessionStarted)
    assert settings["stop_when_settled"] is True
    assert (settings["alpha"], settings["delta"], settings["max_items"]) == (0.1, 0.08, 12)
    assert isinstance(settings["order_seed"], int) and settings["order_seed"] == session.config.order_seed
    assert settings["stopping"] == {"population": 120, "planned": 12}
    check = of(events, StoppingChecked)[0]
    assert (check.alpha, check.delta) == (0.1, 0.08)


def test_the_seeded_order_is_reproducible_and_is_the_schedules_order(trace: Path) -> None:
    task = load_task("arithmetic")
    expected = [task.items[i].id for i in run_order(len(task.items), 11)][:6]

    def order(seed: int) -> list[str]:
        _, events, _ = run(make(trace, model_a=HALF, model_b=HALF, order_seed=seed, max_items=6))
        return [e.item_id for e in of(events, ItemStarted) if e.side == "A"]

    first = order(11)
    assert first == expected and order(11) == first
    assert order(12) != first
    # a resumed session rebuilds its config from the stored settings: the same items in the same order
    _, events, _ = run(make(trace, model_a=HALF, model_b=HALF, max_items=6))
    stored = SessionConfig.from_dict(events[0].stored_settings())
    assert [i.id for i in run_items(task.items, stored)] == [
        e.item_id for e in of(events, ItemStarted) if e.side == "A"
    ]


def test_file_order_without_a_seed_and_the_smaller_cap_wins() -> None:
    items = list(range(10))
    plain = SessionConfig(model_a="a", model_b="b", task="t", limit=4)
    assert run_items(items, plain) == [0, 1, 2, 3]
    capped = dataclasses.replace(plain, order_seed=1, max_items=3)
    assert run_items(items, capped) == [items[i] for i in run_order(10, 1)][:3]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"schedule": "sequential"}, "needs schedule alternate"),
        ({"alpha": 1.5}, "alpha must be between 0 and 1"),
        ({"delta": 0.0}, "margin must be between 0 and 100 points"),
        ({"max_items": 0}, "--max-items must be at least 1"),
    ],
)
def test_unusable_stopping_options_are_refused_in_one_line(trace: Path, overrides: dict, message: str) -> None:
    with pytest.raises(SessionError, match=message):
        Session(make(trace, **overrides), inline_workers=True).prepare()


def test_the_tally_recomputes_what_the_session_emitted_and_the_verdict_says_so(trace: Path) -> None:
    _, events, _ = run(make(trace, max_items=60))
    emitted = of(events, StoppingChecked)[-1]
    tally = Tally()
    for event in events:
        if not isinstance(event, StoppingChecked):  # a replay from the store has no such events
            tally.apply(event)
    assert tally.stopping is not None
    assert dataclasses.replace(tally.stopping, t_mono_s=0) == dataclasses.replace(emitted, t_mono_s=0)

    verdict = verdict_from_tally(tally)
    stopping = verdict.stopping
    assert stopping is not None and stopping.stopped_early and stopping.settled
    assert stopping.n_pairs == emitted.n_pairs and stopping.items_not_run == 60 - emitted.n_pairs
    assert stopping.summary == f"settled after {emitted.n_pairs} of 60 items: B more accurate"
    # the cost of the items not run: each side's measured mean per item times the items it did not run
    sides = [[e for e in of(events, ItemScored) if e.side == side] for side in "AB"]
    mean_j = [sum(i.joules for i in items) / len(items) for items in sides]
    assert stopping.saved_energy_j_estimate == pytest.approx(sum(mean_j) * stopping.items_not_run)
    assert stopping.saved_seconds_estimate and stopping.saved_seconds_estimate > 0
    lines = stopping_lines(stopping)
    assert any(f"Settled after {emitted.n_pairs} of 60 items" in line for line in lines)
    assert any("not run would have cost about" in line and "(estimate" in line for line in lines)
    # stored as JSON and read back (the sweep leaderboard reads verdict["stopping"]["summary"])
    assert Verdict.from_dict(verdict.to_dict()).stopping == stopping
    assert verdict.to_dict()["stopping"]["summary"] == stopping.summary


def test_a_pair_counts_once_and_waits_for_both_sides() -> None:
    stopper = PairStopper(10, 10, alpha=0.05, delta=0.05, stop_when_settled=True)

    def item(side: str, item_id: str, score: float) -> ItemScored:
        return ItemScored(
            side=side,  # type: ignore[arg-type]
            item_id=item_id,
            index=0,
            prompt="",
            output="",
            answer=None,
            reference="",
            score=score,
            tokens_in=1,
            tokens_out=1,
            ttft_s=None,
            seconds=1.0,
            joules=None,
            energy_quality="estimated",
            energy_source="test",
            energy_flagged=False,
            started_mono_s=0.0,
            first_token_mono_s=None,
            last_token_mono_s=None,
            ended_mono_s=1.0,
        )

    assert stopper.observe(item("A", "x", 1.0)) is None
    check = stopper.observe(item("B", "x", 0.0))
    assert check is not None and check.n_pairs == 1 and check.accuracy_estimate == -1.0
    assert check.energy_pairs == 0 and check.energy_lo is None  # no joules: left out of the energy sequence
    assert stopper.observe(item("B", "x", 1.0)) is None  # a retried item is not a second pair
    assert stopper.monitor.state.n == 1


def test_a_resumed_session_counts_the_pairs_it_already_ran(trace: Path, tmp_path: Path) -> None:
    from greentui.services import SessionRun, open_store

    store = open_store(tmp_path / "g.db")
    config = make(trace, model_a=HALF, model_b=HALF, order_seed=8, max_items=10)
    first = SessionRun(config, store)
    first.prepare()
    seen: list[Event] = []

    def stop_after_four_pairs(event: Event) -> None:
        seen.append(event)
        if isinstance(event, StoppingChecked) and event.n_pairs == 4:
            first.session.request_stop()

    first.subscribe(stop_after_four_pairs)
    assert first.run().status == "interrupted"
    session_id = first.session_id
    info = store.resume_info(session_id)
    stored = SessionConfig.from_dict(info.settings)
    resumed = SessionRun(stored, store, session_id=session_id, skip_items={k: set(v) for k, v in info.done.items()})
    resumed.prepare()
    later: list[Event] = []
    resumed.subscribe(later.append)
    assert resumed.run().status == "completed"
    checks = [e for e in later if isinstance(e, StoppingChecked)]
    # the resumed run goes on from the pairs already done, and its verdict covers the whole session
    assert checks and checks[0].n_pairs == 5 and checks[-1].n_pairs == 10
    assert resumed.tally.stopping is not None and resumed.tally.stopping.n_pairs == 10
    assert all(len(lane.items) == 10 for lane in resumed.tally.sides.values())
    store.close()
