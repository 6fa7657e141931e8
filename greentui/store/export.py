"""Export a stored session as CSV (items or samples, for spreadsheets) or JSON (everything, re-importable).

CSV: one row per finished item, every :class:`ItemScored` field plus derived columns (correct, J/token,
tokens/s, g CO2e) that :func:`read_items_csv` ignores when reading the file back; or one row per power
sample. Empty cells mean "not available". CSV files are opened by spreadsheets, so every text cell is made
inert there (greentui.untrusted): control and bidi characters are written as visible escapes (``\\x1b``), newlines
and tabs stay (the cell is quoted), and a cell that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, CR)
gets a leading apostrophe, which :func:`read_items_csv` takes off again. The escapes are one-way: JSON is the
lossless format.

JSON (``"format": "greentui.session"``): the session row, both runs, the finished items, the ItemStarted
events, the power samples in columns, and the latest verdict (``greentui export`` adds ``shown``: the figures as
the reports write them, from greentui.format, which an import ignores). It is written ASCII-only (``ensure_ascii``):
every control, bidi and other non-ASCII character is a ``\\uXXXX`` escape, so the file holds no byte a
terminal acts on, and it reads back to exactly the same text. :func:`import_json` writes such a file into a
store through the ordinary writer, so an imported session replays exactly like the original.
The markdown report lives in ``greentui/text/report.py`` and reads :meth:`SessionStore.load_session`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from greentui.core.records import (
    GridIntensity,
    IdleMeasured,
    ItemScored,
    ItemStarted,
    PowerSample,
    PowerSampled,
)
from greentui.store.db import SessionStore
from greentui.store.errors import StoreError
from greentui.store.from_rows import replay_events
from greentui.store.rows import RunRecord, SessionRecord
from greentui.untrusted import restore_formula, spreadsheet_text

JSON_FORMAT = "greentui.session"
JSON_FORMAT_VERSION = 1

_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(ItemScored))
_INT_FIELDS = {"index"}
# empty when not known: token counts a served model's server did not report, GPU processes without NVML
_OPTIONAL_INT_FIELDS = {"tokens_in", "tokens_out", "gpu_other_processes"}
_OPTIONAL_TEXT_FIELDS = {"answer", "measurement_method", "energy_scope"}  # "" reads back as None
_BOOL_FIELDS = {"energy_flagged", "contended"}
_FLOAT_FIELDS = {
    "joules_machine",
    "contention_share",
    "gpu_temperature_c",
    "score",
    "ttft_s",
    "seconds",
    "joules",
    "started_mono_s",
    "first_token_mono_s",
    "last_token_mono_s",
    "ended_mono_s",
}
_OPTIONAL_FIELDS = {"tokens_counted_by"}  # absent from CSV files written by earlier versions
_DERIVED = ("correct", "joules_per_token", "decode_tokens_per_s", "e2e_tokens_per_s", "grams_co2e")
# What the session's figures rest on, repeated on every row so a spreadsheet has them beside each item.
_SESSION_COLUMNS = (
    "provenance",
    "sampling_rate_hz",
    "power_sources",
    "idle_power_w",
    "idle_contention_share",
    "idle_contended",
)
ITEM_CSV_COLUMNS = ("session_id", "model", *_ITEM_FIELDS, *_DERIVED, *_SESSION_COLUMNS)
SAMPLE_CSV_COLUMNS = tuple(f.name for f in dataclasses.fields(PowerSample))
_SAMPLE_NUMBERS = ("t_mono_s", "power_w", "energy_counter_j", "temperature_c", "sm_clock_mhz")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return spreadsheet_text(value)
    return value  # floats are written with repr(), which reads back to the same number


def write_items_csv(store: SessionStore, session_id: str, out: TextIO) -> int:
    """Write the finished items as CSV; returns the number of rows."""
    stored = store.load_session(session_id)
    session = stored.session
    models = {"A": session.model_a, "B": session.model_b}
    idle = session.idle
    rate = session.sampling_rate_hz or session.measurements.get("sample_rate_hz")
    per_session = (
        rate,
        " ".join(session.power_sources),
        idle.power_w if idle else None,
        idle.contention_share if idle else None,
        idle.contended if idle else None,
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ITEM_CSV_COLUMNS)
    for item in stored.items:
        derived = (
            item.correct,
            item.joules_per_token,
            item.decode_tokens_per_s,
            item.e2e_tokens_per_s,
            stored.session.grid.grams_co2e(item.joules),
        )
        writer.writerow(
            [
                _cell(v)
                for v in (
                    stored.session.id,
                    models[item.side],
                    *(getattr(item, name) for name in _ITEM_FIELDS),
                    *derived,
                    stored.runs[item.side].provenance if item.side in stored.runs else None,
                    *per_session,
                )
            ]
        )
    return len(stored.items)


def read_items_csv(stream: TextIO) -> list[ItemScored]:
    """Read items back from :func:`write_items_csv` output (derived columns are ignored; an empty answer,
    measurement method or energy scope reads back as None)."""
    items = []
    for line, row in enumerate(csv.DictReader(stream), start=2):
        try:
            values: dict[str, Any] = {}
            for name in _ITEM_FIELDS:
                if name not in row and name in _OPTIONAL_FIELDS:
                    continue  # written before the column existed: the field's default holds
                text = restore_formula(row[name])
                if name in _INT_FIELDS:
                    values[name] = int(text)
                elif name in _OPTIONAL_INT_FIELDS:
                    values[name] = int(text) if text != "" else None
                elif name in _FLOAT_FIELDS:
                    values[name] = float(text) if text != "" else None
                elif name in _BOOL_FIELDS:
                    values[name] = text == "true"
                else:
                    values[name] = text if text != "" or name not in _OPTIONAL_TEXT_FIELDS else None
            items.append(ItemScored(**values))
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"items CSV line {line}: cannot read it ({exc})") from exc
    return items


def write_samples_csv(store: SessionStore, session_id: str, out: TextIO) -> int:
    """Write every power sample as CSV, in time order; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SAMPLE_CSV_COLUMNS)
    count = 0
    for sample in store.samples(session_id):
        writer.writerow([_cell(getattr(sample, name)) for name in SAMPLE_CSV_COLUMNS])
        count += 1
    return count


def read_samples_csv(stream: TextIO) -> list[PowerSample]:
    samples = []
    for line, row in enumerate(csv.DictReader(stream), start=2):
        try:
            numbers = {k: (float(row[k]) if row[k] != "" else None) for k in _SAMPLE_NUMBERS}
            quality = row["quality"]
            if quality not in ("measured", "estimated"):
                raise ValueError(f"quality {quality!r} is neither measured nor estimated")
            samples.append(
                PowerSample(
                    device=restore_formula(row["device"]),
                    source=restore_formula(row["source"]),
                    quality="measured" if quality == "measured" else "estimated",
                    power_kind=row["power_kind"],
                    **numbers,  # type: ignore[arg-type]  # t_mono_s is always present in a samples CSV
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"samples CSV line {line}: cannot read it ({exc})") from exc
    return samples


def session_to_json(store: SessionStore, session_id: str, *, include_samples: bool = True) -> dict[str, Any]:
    """The whole session as a JSON-ready dict (see the module docstring)."""
    stored = store.load_session(session_id)
    started: list[dict[str, Any]] = []
    channels: dict[tuple[str, str, str, str], int] = {}
    sample_rows: list[list[Any]] = []
    for event in store.replay(stored.session.id):
        if isinstance(event, ItemStarted):
            started.append(dataclasses.asdict(event))
        elif isinstance(event, PowerSampled) and include_samples:
            s = event.sample
            channel = channels.setdefault((s.device, s.source, s.quality, s.power_kind), len(channels))
            sample_rows.append([channel, *(getattr(s, k) for k in _SAMPLE_NUMBERS)])
    return {
        "format": JSON_FORMAT,
        "format_version": JSON_FORMAT_VERSION,
        "session": {**dataclasses.asdict(stored.session), "power_sources": list(stored.session.power_sources)},
        "runs": {side: dataclasses.asdict(run) for side, run in stored.runs.items()},
        "items": [dataclasses.asdict(item) for item in stored.items],
        "items_started": started,
        "samples": {
            "channels": [dict(zip(("device", "source", "quality", "power_kind"), key)) for key in channels],
            "columns": ["channel", *_SAMPLE_NUMBERS],
            "rows": sample_rows,
        },
        "measurement": measurement_summary(stored.session),
        "verdict": stored.verdict,
        "verdict_sentence": stored.verdict_sentence,
    }


def measurement_summary(session: SessionRecord) -> dict[str, Any]:
    """What the session's energy figures rest on, named as MLCommons' proposed power fields name them where one
    fits (measurement_method, sampling_rate): how energy was measured, how often, from which sources, the idle
    baseline and how busy the machine was (contention)."""
    idle = session.idle
    contention = session.measurements.get("contention") if isinstance(session.measurements, dict) else None
    return {
        "measurement_method": session.measurement_method,
        "sampling_rate_hz": session.sampling_rate_hz or session.measurements.get("sample_rate_hz"),
        "power_sources": list(session.power_sources),
        "power_quality": session.power_quality,
        "energy_scopes": session.measurements.get("energy_scopes"),
        "idle_baseline": None
        if idle is None
        else {
            "seconds": idle.seconds,
            "power_w": idle.power_w,
            "busy_share": idle.contention_share,
            "contended": idle.contended,
        },
        "contended_windows": session.contended_windows,
        "other_cpu_share": session.other_cpu_share,
        "contention": contention if isinstance(contention, dict) else None,
    }


def write_json(
    store: SessionStore,
    session_id: str,
    out: TextIO,
    *,
    include_samples: bool = True,
    extra: dict[str, Any] | None = None,
) -> None:
    """``extra``: keys the caller adds (the figures as the reports write them, rendered above the store); an
    import reads none of them."""
    document = session_to_json(store, session_id, include_samples=include_samples) | (extra or {})
    # ensure_ascii: no raw control, bidi or escape byte in the file (see the module docstring)
    json.dump(document, out, indent=1, ensure_ascii=True)
    out.write("\n")


def export_csv(store: SessionStore, session_id: str, *, what: str = "items") -> str:
    """The session's items (``what="items"``) or power samples (``what="samples"``) as CSV text."""
    out = io.StringIO()
    if what == "items":
        write_items_csv(store, session_id, out)
    elif what == "samples":
        write_samples_csv(store, session_id, out)
    else:
        raise StoreError(f"cannot export {what!r} as CSV (choose items or samples)")
    return out.getvalue()


def export_json(
    store: SessionStore, session_id: str, *, include_samples: bool = True, extra: dict[str, Any] | None = None
) -> str:
    """The whole session as JSON text (see :func:`session_to_json`; ``extra`` as in :func:`write_json`)."""
    out = io.StringIO()
    write_json(store, session_id, out, include_samples=include_samples, extra=extra)
    return out.getvalue()


def _samples_from_json(block: dict[str, Any]) -> Iterator[PowerSample]:
    channels = block.get("channels", [])
    for channel, *numbers in block.get("rows", []):
        yield PowerSample(**channels[channel], **dict(zip(_SAMPLE_NUMBERS, numbers)))


def _session_from_json(data: dict[str, Any]) -> SessionRecord:
    values = dict(data)
    values["grid"] = GridIntensity(**values["grid"])
    values["idle"] = IdleMeasured(**values["idle"]) if values.get("idle") else None
    values["power_sources"] = tuple(values["power_sources"])
    return SessionRecord(**values)


def import_json(store: SessionStore, source: TextIO | dict[str, Any], *, replace: bool = False) -> str:
    """Write an exported session into ``store``; returns the id. A session whose id is already there is refused,
    unless ``replace``: then its rows are updated from the export (items it lacks are kept)."""
    data = json.load(source) if not isinstance(source, dict) else source
    if not isinstance(data, dict) or data.get("format") != JSON_FORMAT:
        raise StoreError('not a greentui session export (its "format" is not greentui.session)')
    if int(data.get("format_version", 0)) > JSON_FORMAT_VERSION:
        raise StoreError(f"this export has format version {data['format_version']}: upgrade greentui to read it")
    try:
        session = _session_from_json(data["session"])
        runs = [RunRecord(**run) for run in data["runs"].values()]
        started = [ItemStarted(**event) for event in data.get("items_started", [])]
        scored = [ItemScored(**item) for item in data["items"]]
        samples = list(_samples_from_json(data.get("samples") or {}))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise StoreError(f"a damaged greentui session export ({type(exc).__name__}: {exc})") from exc
    if store.has_session(session.id) and not replace:
        raise StoreError(f"session {session.id[:12]} is already in {store.path}")
    _write_events(store, replay_events(session, runs, started, scored, iter(samples)))
    # the writer marks the session as written by this process: give it back its own status
    store.mark_status(session.id, session.status, session.status_reason)
    if data.get("verdict") is not None:
        store.save_verdict(session.id, data["verdict"], data.get("verdict_sentence"))
    return session.id


def _write_events(store: SessionStore, events: Iterable[Any]) -> None:
    errors: list[StoreError] = []
    writer = store.writer(on_error=errors.append)
    try:
        for event in events:
            writer.handle(event)
    finally:
        writer.close()
    if errors:
        raise errors[0]
