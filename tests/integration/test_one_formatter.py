"""One stored session through every output -- ``greentui show``, the TUI's history and verdict screens, the live
lanes, the markdown, HTML, CSV and JSON exports -- finds the same rounded figures and the same date, because one
formatter (greentui.format) writes them all.

The session is real: fake models and a replayed constant power trace, run by the engine and stored. Each output is
parsed as a reader would read it (the CLI's text, the TUI's rendered screen, the exported files), not rebuilt.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from greentui.core.records import GridIntensity, ItemScored
from greentui.core.run.session import SessionConfig
from greentui.format import (
    format_energy,
    format_grams,
    format_j_per_token,
    format_joules,
    format_percent,
    format_seconds,
    format_tokens_per_s,
    format_when,
    with_est,
)
from greentui.services import SessionRun
from greentui.store import SessionStore
from greentui.text.listing import stored_verdict
from greentui.tui.screens.history import HistoryScreen
from greentui.tui.screens.verdict import VerdictScreen
from greentui.tui.views import live_view
from tests.helpers.timezone import PARIS, local_zone
from tests.snapshots.svg_text import svg_rows
from tests.tui.pilot_helpers import quiet_app, wait_for

# The figures every output shows for both models (the verdict's comparison rows).
ACCURACY, ENERGY, J_TOKEN, J_CORRECT, CO2E, SPEED, TTFT = (
    "accuracy (95% CI)",
    "energy (total)",
    "J / token",
    "J / correct answer",
    "CO2e",
    "tokens/s decode · end-to-end (p50)",
    "TTFT p50 · p95",
)
FIGURES = (ACCURACY, ENERGY, J_TOKEN, J_CORRECT, CO2E, SPEED, TTFT)
Rows = dict[str, tuple[str, str]]


@pytest.fixture
def paris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is Central European (the CLI's child processes inherit it): dates must name their zone."""
    with local_zone(monkeypatch, PARIS):
        yield


@pytest.fixture
def stored(tmp_path: Path, paris: None) -> tuple[Path, str]:
    """(database, session id) of one completed session: 8 items each, B right half the time, 20 W throughout."""
    trace = tmp_path / "constant.csv"
    trace.write_text("t_s,power_w\n0,20\n1,20\n")
    db = tmp_path / "one.db"
    store = SessionStore(db)
    config = SessionConfig(
        model_a="fake:oracle?tps=400&tokens=6",
        model_b="fake:oracle?tps=300&tokens=8&accuracy=0.5",
        task="arithmetic",
        limit=8,
        idle_s=0.0,
        power_source=f"replay:{trace}",
        sample_hz=20.0,
    )
    outcome = SessionRun(config, store, inline_workers=True).run()
    store.close()
    assert outcome.status == "completed" and outcome.verdict is not None
    return db, outcome.session_id


def greentui(*args: str, db: Path) -> str:
    env = os.environ | {"GREENTUI_DB": str(db), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "greentui", *args], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    return done.stdout


# ---- reading each output --------------------------------------------------------------------------------------


def table_rows(lines: Sequence[str]) -> Rows:
    """The figure rows of a table drawn as text (columns apart by two or more spaces, or by a box line)."""
    rows: Rows = {}
    for line in lines:
        text = line.replace("│", " ").replace("▎", " ").replace("▊", " ").strip()
        for figure in FIGURES:
            if text.startswith(figure + "  "):
                cells = [c for c in re.split(r"\s{2,}", text[len(figure) :].strip()) if c]
                assert len(cells) == 2, f"cannot read the row {line!r}"
                rows.setdefault(figure, (cells[0], cells[1]))
    return rows


def markdown_rows(text: str) -> Rows:
    rows: Rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in FIGURES:
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def html_rows(page: str) -> Rows:
    rows: Rows = {}
    for figure, a, b in re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", page):
        if html.unescape(figure) in FIGURES:
            rows[html.unescape(figure)] = (html.unescape(a), html.unescape(b))
    return rows


def from_items(items: Sequence[Mapping[str, Any]], side: str) -> dict[str, str]:
    """The figures a reader computes from one side's exported items (machine numbers), written by the formatter."""
    mine = [i for i in items if i["side"] == side]
    estimated = all(i["energy_quality"] == "estimated" for i in mine)
    joules = sum(float(i["joules"]) for i in mine)
    tokens = sum(int(i["tokens_out"]) for i in mine)
    correct = sum(1 for i in mine if str(i["correct"]).lower() == "true")
    ttft = [float(i["ttft_s"]) for i in mine]
    return {
        ACCURACY: format_percent(statistics.fmean(float(i["score"]) for i in mine)),
        ENERGY: with_est(format_energy(joules), estimated),
        J_TOKEN: with_est(format_j_per_token(joules / tokens), estimated),
        J_CORRECT: with_est(format_joules(joules / correct), estimated),
        CO2E: with_est(format_grams(sum(float(i["grams_co2e"]) for i in mine)), estimated),
        SPEED: " · ".join(
            format_tokens_per_s(statistics.median(float(i[key]) for i in mine))
            for key in ("decode_tokens_per_s", "e2e_tokens_per_s")
        ),
        TTFT: " · ".join(format_seconds(float(np.percentile(ttft, q))) for q in (50, 95)),
    }


def json_items(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The JSON export's items with the figures the CSV export derives (correct, tokens/s, grams) beside them,
    from the record's own definitions and the session's grid."""
    grid = GridIntensity(**document["session"]["grid"])
    items = []
    for data in document["items"]:
        item = ItemScored(**data)
        derived = ("correct", "decode_tokens_per_s", "e2e_tokens_per_s")
        items.append(data | {k: getattr(item, k) for k in derived} | {"grams_co2e": grid.grams_co2e(item.joules)})
    return items


def point(score: str) -> str:
    """``100.0% (67.6–100.0)`` -> ``100.0%``: the score without its interval."""
    return score.split(" (")[0]


# ---- the test -------------------------------------------------------------------------------------------------


async def test_one_session_reads_the_same_in_every_output(stored: tuple[Path, str]) -> None:
    db, session_id = stored
    store = SessionStore(db)
    session = store.load_session(session_id)
    verdict, tally, _ = stored_verdict(store, session)
    assert verdict is not None
    when = format_when(session.session.started_unix_s)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T", when)  # local time, the zone named

    # the CLI
    shown = greentui("show", session_id, db=db)
    cli = table_rows(shown.splitlines())
    assert f"started {when}" in shown

    # the exports: markdown, HTML, JSON (its human-readable block and its numbers), CSV (its numbers)
    markdown = greentui("export", session_id, "--format", "md", db=db)
    assert f"- **Date:** {when}\n" in markdown
    page = greentui("export", session_id, "--format", "html", db=db)
    assert f"started {when}" in page
    document = json.loads(greentui("export", session_id, "--format", "json", db=db))
    assert document["shown"]["started"] == when
    json_rows = {row["figure"]: (row["A"], row["B"]) for row in document["shown"]["figures"]}
    show_json = json.loads(greentui("show", session_id, "--json", db=db))["shown"]
    assert show_json["started"] == when
    show_rows = {row["figure"]: (row["A"], row["B"]) for row in show_json["figures"]}
    csv_items = list(csv.DictReader(io.StringIO(greentui("export", session_id, "--format", "csv", db=db))))

    # the TUI: the history (its table and the highlighted session's preview), then the verdict screen
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=(180, 60)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="the history")
        history = svg_rows(app.export_screenshot())
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the verdict screen")
        verdict_screen = svg_rows(app.export_screenshot())
    store.close()
    assert any(when in row for row in history), "\n".join(history)
    assert any(f"· {when} · session {session_id}" in row for row in verdict_screen), "\n".join(verdict_screen)
    tui = table_rows(verdict_screen)

    # the same rounded values everywhere
    readers = {
        "markdown": markdown_rows(markdown),
        "HTML": html_rows(page),
        "JSON": json_rows,
        "show --json": show_rows,
    }
    for name, rows in readers.items():
        assert rows.keys() >= set(FIGURES), name
        for figure in FIGURES:
            assert rows[figure] == cli[figure], (name, figure)
    assert set(cli) == set(FIGURES) and tui == cli, "\n".join(verdict_screen)
    for index, side in enumerate("AB"):
        expected = {figure: cli[figure][index] for figure in FIGURES}
        expected[ACCURACY] = point(expected[ACCURACY])
        assert from_items(csv_items, side) == expected, f"CSV, side {side}"
        assert from_items(json_items(document), side) == expected, f"JSON items, side {side}"
        # the history preview: "A spec · 8/8 items · mean score 100.0% · 2.64 J est."
        preview = next(row for row in history if re.search(rf"{side} fake:oracle.*mean score", row))
        score, energy = re.search(r"mean score (\S+) · (.+? est\.)", preview).groups()  # type: ignore[union-attr]
        assert score == expected[ACCURACY] and energy == with_est(expected[ENERGY].split(" · ")[0], True)

    # the live screen's lanes, drawn from the same session replayed: the same figures, the same rounding
    view = live_view(tally, state="completed")
    for index, side in enumerate("AB"):
        tiles = {tile.key: tile for tile in view.lane(side).tiles}  # type: ignore[arg-type]
        assert all(tiles[key].estimated for key in ("energy", "jpt", "jpc", "co2"))
        assert tiles["energy"].value + " est." == cli[ENERGY][index].split(" · ")[0] + " est."
        assert tiles["jpt"].value + " est." == cli[J_TOKEN][index]
        assert tiles["jpc"].value + " est." == cli[J_CORRECT][index]
        assert tiles["co2"].value + " est." == cli[CO2E][index]
        assert tiles["ttft"].value == cli[TTFT][index].split(" · ")[0]
        assert tiles["score"].value.split(" (")[0] == point(cli[ACCURACY][index])
