"""Scripts get data, not squeezed tables: ``--json`` on the listing commands, whole words when piped, and
headless progress lines that never break inside a figure."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from greentui.cli import main
from greentui.store import SessionStore
from greentui.text.printer import fields_line
from tests.helpers.many_sessions import VERDICT_SENTENCE, fill_many

HOSTILE_SPEC = "fake:evil\x1b]52;c;aGk=\x07\u202e<b>x</b>"
# What must never reach a terminal raw (the same set greentui.untrusted escapes).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("cli-json")) / "g.db"
    store = SessionStore(path)
    fill_many(store, 60)
    store._write(
        "a hostile spec", lambda d: d.execute("UPDATE sessions SET model_b = ? WHERE id = 'base-sql'", (HOSTILE_SPEC,))
    )
    store.close()
    return path


def run_piped(*args: str, db: Path) -> str:
    """``greentui ARGS`` with stdout a pipe (as in ``greentui ARGS | cat``), in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {"GREENTUI_DB": str(db)}
    done = subprocess.run(
        [sys.executable, "-m", "greentui", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_sessions_json_goes_through_json_tool(db: Path) -> None:
    env = {**os.environ, "GREENTUI_DB": str(db)}
    pipeline = f"{sys.executable} -m greentui sessions --json --limit 5 | {sys.executable} -m json.tool"
    done = subprocess.run(pipeline, shell=True, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["format"] == "greentui.sessions" and document["format_version"] == 1
    assert document["matching"] == 60 and document["limit"] == 5 and len(document["sessions"]) == 5
    newest = document["sessions"][0]
    assert newest["id"] == "base-sql" and newest["started_utc"].endswith("Z")
    assert set(newest["sides"]) == {"A", "B"} and newest["sides"]["A"]["items_done"] >= 1
    assert newest["model_b"] == HOSTILE_SPEC  # the exact text back...
    raw = run_piped("sessions", "--json", db=db)
    assert not RAW.search(raw) and raw.isascii()  # ...yet no byte a terminal acts on


def test_sessions_json_filters_and_counts(db: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GREENTUI_DB", str(db))
    assert main(["sessions", "--json", "--task", "sentiment", "--limit", "3"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["matching"] == 20 and [s["task_id"] for s in document["sessions"]] == ["sentiment"] * 3
    assert document["sessions"][0]["verdict_sentence"] == VERDICT_SENTENCE


def test_tasks_sessions_and_models_piped_show_whole_words(db: Path) -> None:
    tasks = run_piped("tasks", db=db)
    assert "…" not in tasks
    from greentui.core.evaluate.tasks import builtin_tasks

    for task in builtin_tasks():  # each task's whole provenance on its own row, on one line
        assert any(task.provenance in line and task.id in line for line in tasks.splitlines()), task.id
    sessions = run_piped("sessions", "--limit", "5", db=db)
    assert "…" not in sessions and VERDICT_SENTENCE in sessions and "matching sessions shown" in sessions
    assert "\\x1b]52" in sessions and "\x1b" not in sessions  # the hostile spec as a visible escape
    models = run_piped("models", db=db)
    assert "…" not in models and "smollm2-135m@fp32" in models


def test_show_tasks_and_models_json(db: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GREENTUI_DB", str(db))
    assert main(["show", "base-arith", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["format"] == "greentui.show" and shown["session"]["id"] == "base-arith"
    assert set(shown["runs"]) == {"A", "B"} and shown["runs"]["B"]["failure"]
    assert shown["verdict_source"] == "items" and shown["verdict"]["a"]["n_items"] >= 1  # computed: none was saved
    assert shown["verdict_sentence"] == shown["verdict"]["sentence"]
    assert main(["show", "base-sentiment", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict_source"] == "stored"

    assert main(["tasks", "--json"]) == 0
    tasks = json.loads(capsys.readouterr().out)["tasks"]
    sentiment = next(t for t in tasks if t["id"] == "sentiment")
    assert sentiment["available"] and sentiment["items"] == 120 and sentiment["baseline"] == 0.5
    assert main(["models", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert any(row["spec"] == "smollm2-135m@fp32" for row in models["catalog"]) and "served" in models


def test_show_json_of_an_unknown_session_is_one_line(db: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GREENTUI_DB", str(db))
    assert main(["show", "nope", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "no session 'nope'" in captured.err


FIELDS = ["  A item-0042      ✓ 1.00", "  31.2 tok/s", " 0.591 J/token est.", "running 100.0% (20.7–100.0) (12 done)"]


def test_a_progress_line_never_breaks_inside_a_figure() -> None:
    piped = fields_line(FIELDS, None).plain
    assert "\n" not in piped and "running 100.0% (20.7–100.0)" in piped
    for width in (30, 40, 60, 80):
        lines = fields_line(FIELDS, width).plain.split("\n")
        assert len(lines) > 1
        assert any("running 100.0% (20.7–100.0) (12 done)" in line for line in lines)  # whole, on one line
        assert all(len(line) <= width for line in lines if "running" not in line)
    assert fields_line([Text("a"), "b"], 80).plain == "a  b"


def test_headless_printer_keeps_each_line_whole_when_piped() -> None:
    from greentui.core.run.tally import Tally
    from greentui.text.printer import HeadlessPrinter
    from tests.helpers.store_events import LiveSession

    out = io.StringIO()
    tally = Tally()
    printer = HeadlessPrinter(
        db_path=Path("x.db"), tally=tally, console=Console(file=out, width=40, soft_wrap=True, highlight=False)
    )
    for event in LiveSession("s-print", n_items=6).events():
        tally.apply(event)  # the session's one tally is fed before the printer reads it (SessionRun does this)
        printer.handle(event)
    item_lines = [line for line in out.getvalue().splitlines() if "J/token" in line]
    assert len(item_lines) == 12
    interval = r"\((\S+–\S+|n = \d: too few for an interval)\)"  # below 5 items no interval is claimed
    assert all(re.search(rf"running \S+ {interval} \(\d+ done\)$", line) for line in item_lines), item_lines
    assert sum("too few" in line for line in item_lines) == 8  # items 1-4 of each side
