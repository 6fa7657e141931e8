"""A session talks to measuring through one door; every scored item carries what its figure rests on (method,
scope, contention, the scorer's detail) into the store and back."""

from __future__ import annotations

from pathlib import Path

from greentui.core.records import ItemScored, SessionFinished
from greentui.core.run.session import SessionConfig
from greentui.services import SessionRun, open_store


def test_items_and_the_session_carry_what_their_figures_rest_on(tmp_path: Path) -> None:
    trace = tmp_path / "const.csv"
    trace.write_text("t_s,power_w\n0,20\n1,20\n")
    config = SessionConfig(
        model_a="fake:oracle?tps=400&accuracy=1&tokens=3",
        model_b="fake:oracle?tps=400&accuracy=0&tokens=3",
        task="arithmetic",
        limit=3,
        idle_s=0.2,
        power_source=f"replay:{trace}",
        sample_hz=20.0,
    )
    store = open_store(tmp_path / "g.db")
    try:
        run = SessionRun(config, store, inline_workers=True)
        finished: list[SessionFinished] = []
        run.subscribe(lambda e: finished.append(e) if isinstance(e, SessionFinished) else None)
        outcome = run.run()
        live = {(i.side, i.item_id): i for lane in run.tally.sides.values() for i in lane.items}
        stored = {(i.side, i.item_id): i for i in store.items(outcome.session_id)}
        record = store.get_session(outcome.session_id)
    finally:
        store.close()
    assert outcome.status == "completed" and len(live) == 6
    assert stored == live  # every new field survives the store
    for item in live.values():
        assert isinstance(item, ItemScored)
        assert item.measurement_method == "integrated" and item.energy_scope == "device"  # a replayed trace
        assert item.joules_machine is None and item.gpu_temperature_c is None and item.gpu_other_processes is None
        assert item.score_detail  # the scorer's one line, e.g. why a wrong answer scored 0
    figures = finished[0].measurements
    assert figures["sampling_rate_hz"] == figures["sample_rate_hz"] and figures["sampling_rate_hz"] > 0
    assert figures["measurement_methods"] == ["integrated"] and figures["contention"]["windows"] == 6
    assert record.sampling_rate_hz == figures["sampling_rate_hz"] and record.measurement_method == "integrated"
    assert record.idle is not None and record.contended_windows == figures["contention"]["contended_windows"]
