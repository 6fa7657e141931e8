"""``greentui run`` with a served lane whose server fails in each way the issue names: one line naming the endpoint
and the reason, that lane failed, the other lane (a fake model) finished, every finished item kept, no traceback.

The canned server (tests/helpers/openai_server.py) runs in this test's process on 127.0.0.1; a fresh one per test,
since its die-after-N counts generations over the server's life.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.openai_server import CannedServer, start_server

FAKE = "fake:oracle?tps=300&tokens=6@cpu"
LIMIT = 4


def greentui(*args: str, db: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = os.environ | {"GREENTUI_DB": str(db), "COLUMNS": "500"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "greentui", *args], capture_output=True, text=True, env=environ, timeout=180
    )


def race(model_a: str, db: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return greentui(
        "run",
        "--model-a",
        model_a,
        "--model-b",
        FAKE,
        "--task",
        "arithmetic",
        "--limit",
        str(LIMIT),
        "--idle-seconds",
        "0",
        "--headless",
        db=db,
        env=env,
    )


def stored(db: Path) -> tuple[str, str, dict[str, int]]:
    with sqlite3.connect(db) as conn:
        [(status, reason)] = conn.execute("SELECT status, status_reason FROM sessions").fetchall()
        rows = conn.execute("SELECT side, count(*) FROM items WHERE ended_mono_s IS NOT NULL GROUP BY side").fetchall()
    return status, reason, dict(rows)


@pytest.fixture()
def server(request: pytest.FixtureRequest) -> Iterator[CannedServer]:
    options: dict[str, Any] = getattr(request, "param", {})
    canned = start_server(**options)
    yield canned
    if not canned.dead:
        canned.shutdown()
    canned.server_close()


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released: connecting to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# (model the canned server is asked for, its options, extra spec options, words of the reason, A's finished items)
FAILURES = {
    "401": ("auth", {"key": "the-right-key"}, "&key_env=GT_SERVED_TEST_KEY", ["API key was refused", "HTTP 401"], 0),
    "404 model": ("missing", {}, "", ["no model 'missing'", "HTTP 404"], 0),
    "500": ("error500", {}, "", ["server error (HTTP 500", "illegal memory access"], 0),
    "timeout": ("slow", {"slow_s": 6.0}, "&timeout=1", ["no answer for 1 s", "read timeout"], 0),
    "malformed stream": ("malformed", {}, "", ["malformed stream", "not JSON"], 0),
    "cut stream": ("cut", {}, "", ["connection was lost mid-answer"], 0),
    "cut without an end": ("cut-clean", {}, "", ["stream was cut off", "no finish_reason"], 0),
    "error event": ("error-event", {}, "", ["reported an error mid-answer", "index out of range"], 0),
    "dies mid-item": ("die-after-2", {}, "", ["connection was lost mid-answer", "did the server stop"], 2),
}


def check_failed_lane(done: subprocess.CompletedProcess[str], db: Path, address: str, words: list[str], a_items: int):
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "Error:" not in done.stderr, output
    assert done.returncode == 1, output
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("A failed:")]
    assert len(lines) == 1, output  # one line naming the endpoint and the reason
    assert f"server {address}:" in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    status, reason, items = stored(db)
    assert status == "failed" and address in reason
    assert items.get("A", 0) == a_items and items["B"] == LIMIT  # the fake lane finished; finished items kept
    assert "session " in done.stdout and "saved in" in done.stdout


@pytest.mark.parametrize(
    ("model", "server", "options", "words", "a_items"),
    list(FAILURES.values()),
    ids=list(FAILURES),
    indirect=["server"],
)
def test_a_failing_server_fails_its_lane_in_one_line_and_the_other_lane_finishes(
    tmp_path: Path, server: CannedServer, model: str, options: str, words: list[str], a_items: int
) -> None:
    db = tmp_path / "g.db"
    done = race(server.spec(model) + options, db, env={"GT_SERVED_TEST_KEY": "a-wrong-key-123"})
    check_failed_lane(done, db, f"127.0.0.1:{server.port}", words, a_items)
    assert "a-wrong-key-123" not in done.stdout + done.stderr  # the key is never printed


def test_connection_refused(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "g.db"
    done = race(f"openai:http://127.0.0.1:{port}/v1?model=m", db)
    check_failed_lane(done, db, f"127.0.0.1:{port}", ["connection refused", "is the server running"], 0)


def test_a_server_that_reports_no_usage_completes_with_tokens_not_reported(
    tmp_path: Path, server: CannedServer
) -> None:
    db = tmp_path / "g.db"
    done = race(server.spec("ok-no-usage"), db)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in output, output
    assert "(tokens not reported)" in done.stdout and "not available (no token counts)" in done.stdout
    status, _, items = stored(db)
    assert status == "completed" and items == {"A": LIMIT, "B": LIMIT}
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT tokens_out, tokens_counted_by, joules FROM items WHERE side = 'A'").fetchall()
    assert {(tokens, how) for tokens, how, _ in rows} == {(None, "not reported")}
    assert all(joules for _, _, joules in rows)  # a server on this host: measured (estimated here)
