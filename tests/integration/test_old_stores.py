"""Databases from earlier releases (schema v1 and v2) open, migrate to v3, and every session in them still shows
and exports in every format. The v2 fixture stores a stub verdict from an older format; it is recomputed from the
stored items rather than crashing `show` and `export --format md`."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from greentui.store import SessionStore
from greentui.store.export import export_csv, export_json
from greentui.text.listing import export_session, print_session

ASSETS = Path(__file__).resolve().parents[1] / "assets"
NEW_ITEM_COLUMNS = {"measurement_method", "energy_scope", "contention_share", "contended", "gpu_temperature_c"}


def migrated(tmp_path: Path, version: int) -> Path:
    path = tmp_path / f"store_v{version}.db"
    shutil.copyfile(ASSETS / f"store_v{version}.db", path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == version
    return path


@pytest.mark.parametrize("version", [1, 2])
def test_every_session_of_an_old_store_shows_and_exports(
    tmp_path: Path, version: int, capsys: pytest.CaptureFixture[str]
) -> None:
    path = migrated(tmp_path, version)
    store = SessionStore(path)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == 3
        columns = {row[1] for row in store._db.execute("PRAGMA table_info(items)").fetchall()}
        assert NEW_ITEM_COLUMNS <= columns and "score_detail" in columns
        sessions = store.list_sessions()
        assert sessions
        for summary in sessions:
            print_session(store, summary.id)
            shown = capsys.readouterr().out
            assert f"session {summary.id}" in shown and "Traceback" not in shown
            markdown = export_session(store, summary.id, "md")
            assert markdown.startswith("# greentui report") and summary.id in markdown
            csv_text = export_csv(store, summary.id)
            assert csv_text.splitlines()[0].startswith("session_id,model,") and "measurement_method" in csv_text
            data = json.loads(export_json(store, summary.id))
            assert data["session"]["id"] == summary.id and "measurement" in data
            if summary.a.items_done and summary.b.items_done:
                # a verdict is shown: recomputed when the stored one is of an older format (or a stub)
                assert "CEGI (" in shown and "## Verdict" in markdown
    finally:
        store.close()


def test_the_v2_stub_verdict_no_longer_crashes_the_command_line(tmp_path: Path) -> None:
    path = migrated(tmp_path, 2)
    env = os.environ | {"GREENTUI_DB": str(path), "COLUMNS": "160"}
    for args in (["show", "2b2b0000v2done"], ["export", "2b2b0000v2done", "--format", "md"]):
        done = subprocess.run(
            [sys.executable, "-m", "greentui", *args], capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
        assert "Pareto:" in done.stdout  # the verdict was recomputed from the stored items
