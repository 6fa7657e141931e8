"""CSV and JSON export of a stored session, and reading them back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from greentui.store import SessionStore, StoreError
from greentui.store.export import (
    ITEM_CSV_COLUMNS,
    export_csv,
    export_json,
    import_json,
    read_items_csv,
    read_samples_csv,
    session_to_json,
    write_items_csv,
    write_json,
    write_samples_csv,
)
from tests.helpers.store_events import LiveSession


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    opened = SessionStore(tmp_path / "g.db")
    writer = opened.writer()
    for event in LiveSession("s-export", n_items=6, fail_side="B", seed=11).events():
        writer.handle(event)
    writer.close()
    opened.save_verdict("s-export", {"mode": "head-to-head", "accuracy_diff": [-0.1, -0.3, 0.1]}, "too close to call")
    return opened


def test_items_csv_round_trip(store: SessionStore) -> None:
    out = io.StringIO()
    assert write_items_csv(store, "s-exp", out) == len(store.items("s-export"))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == ITEM_CSV_COLUMNS
    first = store.items("s-export")[0]
    assert rows[0]["correct"] == ("true" if first.correct else "false")
    assert float(rows[0]["joules_per_token"]) == pytest.approx(first.joules_per_token)
    assert rows[0]["model"] == "fake:oracle?accuracy=0.9"
    assert read_items_csv(io.StringIO(out.getvalue())) == store.items("s-export")


def test_samples_csv_round_trip(store: SessionStore) -> None:
    out = io.StringIO()
    assert write_samples_csv(store, "s-export", out) == len(store.samples("s-export"))
    assert read_samples_csv(io.StringIO(out.getvalue())) == store.samples("s-export")
    assert ",," in out.getvalue()  # the CPU has no temperature: an empty cell, not 0


def test_a_damaged_csv_names_its_line(store: SessionStore) -> None:
    out = io.StringIO()
    write_items_csv(store, "s-export", out)
    lines = out.getvalue().splitlines()
    broken = "\n".join([*lines[:2], "s-export,x,A,item-9,not-a-number", *lines[3:]])
    with pytest.raises(StoreError, match="line 3"):
        read_items_csv(io.StringIO(broken))


def test_json_round_trip_through_import(store: SessionStore, tmp_path: Path) -> None:
    out = io.StringIO()
    write_json(store, "s-export", out)
    data = json.loads(out.getvalue())
    assert data["format"] == "greentui.session" and data["verdict_sentence"] == "too close to call"
    assert data["session"]["settings"]["task_version"] == "v-sentiment"
    assert len(data["samples"]["rows"]) == len(store.samples("s-export"))
    other = SessionStore(tmp_path / "other.db")
    assert import_json(other, io.StringIO(out.getvalue())) == "s-export"
    assert list(other.replay("s-export")) == list(store.replay("s-export"))
    original, copied = store.load_session("s-export"), other.load_session("s-export")
    assert copied.items == original.items and copied.runs == original.runs
    assert copied.verdict == original.verdict and copied.verdict_sentence == original.verdict_sentence
    assert copied.session.status == original.session.status == "completed"
    assert session_to_json(other, "s-export") == data
    with pytest.raises(StoreError, match="already in"):
        import_json(other, data)


def test_json_without_samples_and_of_an_interrupted_session(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "g.db")
    writer = store.writer()
    for event in LiveSession("s-cut", n_items=4, stop_after_items=3, finish=False).events():
        writer.handle(event)
    writer.close()
    store.mark_status("s-cut", "interrupted", "stopped by the user")
    data = session_to_json(store, "s-cut", include_samples=False)
    assert data["samples"]["rows"] == []
    other = SessionStore(tmp_path / "other.db")
    import_json(other, data)
    copied = other.get_session("s-cut")
    assert (copied.status, copied.status_reason) == ("interrupted", "stopped by the user")
    assert len(other.items("s-cut")) == 3


def test_import_refuses_what_is_not_an_export(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "g.db")
    with pytest.raises(StoreError, match="not a greentui session export"):
        import_json(store, {"format": "something else"})
    with pytest.raises(StoreError, match="damaged"):
        import_json(store, {"format": "greentui.session", "format_version": 1, "session": {"id": "x"}})
    assert store.list_sessions() == []


def test_text_exports_and_report_dicts(store: SessionStore) -> None:
    assert read_items_csv(io.StringIO(export_csv(store, "s-export"))) == store.items("s-export")
    assert read_samples_csv(io.StringIO(export_csv(store, "s-export", what="samples"))) == store.samples("s-export")
    with pytest.raises(StoreError, match="choose items or samples"):
        export_csv(store, "s-export", what="runs")
    assert json.loads(export_json(store, "s-export", include_samples=False))["samples"]["rows"] == []
    stored = store.load_session("s-export")
    flat = stored.session_dict()
    assert (flat["grid_g_per_kwh"], flat["grid_source"], flat["country"]) == (56.0, "codecarbon data: FRA", "FRA")
    assert stored.session.grid_g_per_kwh == 56.0 and "grid" not in flat
    assert [run["side"] for run in stored.runs_dicts()] == ["A", "B"]
    summary = stored.items_summary()
    assert summary["B"]["items_done"] == len(stored.items_for("B")) and summary["B"]["tokens_out"] > 0
