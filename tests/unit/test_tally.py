from __future__ import annotations

import pytest

from greentui.core.records import RunFailed, TokenEvent
from greentui.core.run.tally import Tally
from tests.helpers import events as ev


def fed(*events):
    tally = Tally()
    for event in events:
        tally.apply(event)
    return tally


def test_running_figures_per_side() -> None:
    tally = fed(
        ev.started(3),
        ev.loaded("A"),
        ev.loaded("B"),
        ev.idle(5.0),
        ev.scored("A", 0, score=1, joules=20.0, start=3.0, tokens=10),
        ev.scored("B", 0, score=0, joules=10.0, start=4.0, tokens=10),
        ev.scored("B", 1, score=1, joules=10.0, start=5.0, tokens=5),
        ev.scored("A", 1, score=1, joules=30.0, start=6.0, tokens=15),
    )
    a, b = tally.sides["A"], tally.sides["B"]
    assert a.items_done == 2 and b.items_done == 2
    assert a.energy_j == pytest.approx(50.0)
    assert a.joules_per_token == pytest.approx(50.0 / 25)
    assert a.joules_per_correct == pytest.approx(25.0)
    assert b.joules_per_correct == pytest.approx(20.0)  # 20 J for one correct answer
    assert a.score.mean == pytest.approx(1.0) and b.score.mean == pytest.approx(0.5)
    assert b.score.lo < 0.5 < b.score.hi
    assert tally.co2_g("A") == pytest.approx(50.0 / 3.6e6 * 360.0)
    assert tally.items_total == 6 and tally.items_done == 4


def test_streaming_tokens_build_the_current_output() -> None:
    tally = fed(
        ev.started(1),
        ev.item_started("A", 0, 1.0),
        TokenEvent("A", "item-0", "4", 1, 1.1),
        TokenEvent("A", "item-0", "2", 2, 1.2),
    )
    lane = tally.sides["A"]
    assert lane.current_output == "42" and lane.current_tokens == 2
    assert tally.active_side == "A" and lane.state == "generating"


def test_no_energy_is_none_not_zero() -> None:
    tally = fed(ev.started(1), ev.scored("A", 0, score=0, joules=None, start=1.0))
    lane = tally.sides["A"]
    assert lane.energy_j is None and lane.joules_per_token is None and lane.joules_per_correct is None
    assert tally.co2_g("A") is None


def test_a_failed_side_stops_counting_its_remaining_items() -> None:
    tally = fed(
        ev.started(4),
        ev.scored("A", 0, score=1, joules=1.0, start=1.0),
        RunFailed("B", "model B (x) crashed", "crash", 2.0),
    )
    assert tally.sides["B"].state == "failed"
    assert tally.items_total == 4 + 0


def test_power_now_sums_the_latest_reading_of_each_device() -> None:
    tally = fed(ev.power(1.0, 10.0), ev.power(1.1, 12.0))
    assert tally.power_now_w == pytest.approx(12.0)


def test_eta_from_the_median_item_time_of_each_side() -> None:
    tally = fed(ev.started(2), ev.scored("A", 0, score=1, joules=1.0, start=10.0))
    # one item of 1 s done and nothing started since: three items to go (one of A, two of B) at 1 s each
    assert tally.eta_s(12.0) == pytest.approx(3.0)


def test_eta_is_not_swung_by_one_slow_item() -> None:
    # A then B, 2 s apart from start to start, except one item of A that took 20 s
    starts = [0.0, 2.0, 4.0, 24.0, 26.0, 28.0]
    events = [ev.started(10)]
    for n, start in enumerate(starts):
        side = "A" if n % 2 == 0 else "B"
        events.append(ev.scored(side, n // 2, score=1, joules=1.0, start=start, seconds=1.5 if n != 2 else 19.5))
    tally = fed(*events)
    # item times: A 2, 20, 2 s; B 2, 2, 1.5 s (its last item: start to end): medians 2 s; 7 items left each
    assert tally.eta_s(30.0) == pytest.approx(7 * 2.0 + 7 * 2.0)


def test_eta_counts_what_is_left_of_the_item_in_flight() -> None:
    tally = fed(
        ev.started(2),
        ev.scored("A", 0, score=1, joules=1.0, start=0.0, seconds=1.0),
        ev.item_started("B", 0, 2.0),
    )
    # A's item took 2 s (start to the next start); B's item has run 0.5 s of its expected 2 s
    assert tally.eta_s(2.5) == pytest.approx(2.0 + 1.5 + 2.0)


def loaded_spec(side: str, text: str):  # type: ignore[no-untyped-def]
    """The ModelLoaded a session emits for ``text``: the adapter facts come from the parsed spec, as in session.py."""
    import dataclasses

    from greentui.core.models.spec import ModelSpec

    spec = ModelSpec.parse(text)
    return dataclasses.replace(
        ev.loaded(side),  # type: ignore[arg-type]
        spec=str(spec),
        has_adapter=spec.adapter is not None,
        base_spec=str(spec.base()),
    )


def test_fine_tune_mode_is_b_equal_to_a_plus_an_adapter() -> None:
    from greentui.core.run.judge import is_fine_tune

    def fine_tune(a: str, b: str) -> bool:
        return is_fine_tune(loaded_spec("A", a), loaded_spec("B", b))

    assert fine_tune("smollm2-135m@fp32", "smollm2-135m@fp32+adapter=./lora")
    assert not fine_tune("smollm2-135m@fp32+adapter=./lora", "smollm2-135m@fp32")
    assert not fine_tune("smollm2-135m@fp32", "smollm2-135m@nf4+adapter=./lora")
    assert not fine_tune("smollm2-135m@fp32", "smollm2-135m@nf4")
    assert not fine_tune("smollm2-135m@fp32+adapter=./a", "smollm2-135m@fp32+adapter=./b")
    assert not is_fine_tune(None, loaded_spec("B", "smollm2-135m@fp32+adapter=./lora"))  # A never loaded


def test_the_verdict_takes_the_mode_and_the_adapter_from_the_loaded_events() -> None:
    from greentui.core.run.judge import verdict_from_tally

    events = [ev.started(2), loaded_spec("A", "smollm2-135m@fp32"), loaded_spec("B", "smollm2-135m@fp32+adapter=./l")]
    for n in range(2):
        events += [ev.scored("A", n, score=n, joules=1.0, start=2 * n), ev.scored("B", n, score=1, joules=1.0, start=1)]
    verdict = verdict_from_tally(fed(*events))
    assert verdict.fine_tune
    assert verdict.b.has_adapter and not verdict.a.has_adapter
    head_to_head = verdict_from_tally(fed(*events[:2], loaded_spec("B", "smollm2-135m@nf4"), *events[3:]))
    assert not head_to_head.fine_tune and not head_to_head.b.has_adapter


def test_the_store_replays_the_adapter_facts_from_the_stored_spec(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Stored runs keep the spec text, not has_adapter: the store's replay reads both fields back from it (so a
    session stored before the fields existed replays in fine-tune mode too), in agreement with the spec grammar."""
    import dataclasses

    from greentui.core.records import ModelLoaded
    from greentui.store import SessionStore

    a = loaded_spec("A", "smollm2-135m@fp32")
    b = loaded_spec("B", "./base@fp32,cpu+adapter=org/lora-x")
    store = SessionStore(tmp_path / "s.db")
    try:
        writer = store.writer()
        # written as an old event would be: without the adapter facts
        for event in (ev.started(1), a, dataclasses.replace(b, has_adapter=False, base_spec="")):
            writer.handle(event)
        writer.close()
        replayed = {e.side: e for e in store.replay("s1") if isinstance(e, ModelLoaded)}
    finally:
        store.close()
    assert (replayed["A"].has_adapter, replayed["A"].base_spec) == (False, a.spec)
    assert (replayed["B"].has_adapter, replayed["B"].base_spec) == (True, b.base_spec)
