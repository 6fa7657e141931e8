"""The listing commands' output: ``sessions``, ``show``, ``export``, ``tasks`` and ``models``, printed with rich.

Model output and names are wrapped in :class:`rich.text.Text` (never parsed as markup), their control and bidi
characters shown as visible escapes. On a terminal the tables fit its width; piped or redirected they take their
natural width (greentui.text.console), so a script or a pager gets whole words. ``--json`` output is built in
greentui.text.listing_json.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from greentui.format import (
    est,
    format_hz,
    format_intensity,
    format_joules,
    format_prompt_cache,
    format_seconds,
    format_when,
)
from greentui.text.console import print_natural, script_console
from greentui.untrusted import escape_controls

if TYPE_CHECKING:  # the listing itself must start without the engine (and numpy): see test_import_hygiene
    from greentui.core.run.tally import Tally
    from greentui.core.verdict.compute import Verdict
    from greentui.store import SessionRecord, SessionStore, SessionSummary, StoredSession


def _cell(value: object) -> Text:
    """Untrusted text as a table cell: never markup, no byte a terminal acts on, one line."""
    return Text(escape_controls(str(value), keep=""))


def print_sessions(rows: list[SessionSummary], db_path: Path, *, matching: int | None = None) -> None:
    """The sessions as a table; ``matching`` (how many the filters keep in all) adds a line when some are not
    listed."""
    console = script_console()
    if not rows:
        console.print(Text(f"no sessions in {db_path}"))
        return
    table = Table(title=f"sessions in {db_path}", title_justify="left")
    for column in ("id", "started", "task", "model A", "model B", "items", "status", "energy A · B"):
        table.add_column(column, no_wrap=column in ("id", "started", "status"))
    table.add_column("verdict", ratio=1)
    for row in rows:
        mark = est(row.power_quality)
        energy = f"{format_joules(row.a.energy_j)} · {format_joules(row.b.energy_j)}{mark}"
        table.add_row(
            *[
                _cell(v)
                for v in (
                    row.id,
                    format_when(row.started_unix_s),
                    row.task_id,
                    row.model_a,
                    row.model_b,
                    f"{row.a.items_done}/{row.b.items_done} of {row.n_items}",
                    row.status,
                    energy,
                    row.verdict_sentence or "",
                )
            ]
        )
    print_natural(console, table)
    if matching is not None and matching > len(rows):
        console.print(Text(f"{len(rows):,} of {matching:,} matching sessions shown (--limit N shows more)"))


def stored_verdict(store: SessionStore, stored: StoredSession) -> tuple[Verdict | None, Tally, str | None]:
    """(the verdict, the replayed tally, where the verdict came from) for a stored session: the saved verdict
    ("stored"), else one computed from its finished items ("items": none was saved, or it was saved by an older
    release in another format), else None (no finished item)."""
    from greentui.core.run.judge import session_verdict
    from greentui.core.run.tally import Tally
    from greentui.core.verdict.compute import Verdict, VerdictError

    tally = Tally()
    for event in store.replay(stored.session.id):
        tally.apply(event)
    verdict = session_verdict(stored.verdict, tally)
    if verdict is None:
        return None, tally, None
    try:
        source = "stored" if stored.verdict and Verdict.from_dict(stored.verdict) is not None else "items"
    except VerdictError:
        source = "items"
    return verdict, tally, source


def session_json(store: SessionStore, session_id: str) -> str:
    """`greentui show --json` (keys in docs/JSON_OUTPUT.md)."""
    from greentui.text.listing_json import show_json, shown

    stored = store.load_session(session_id)
    verdict, _, source = stored_verdict(store, stored)
    return show_json(stored, verdict.to_dict() if verdict is not None else None, source, shown(stored, verdict, source))


def print_session(store: SessionStore, session_id: str) -> None:
    """`greentui show`: the session header, the per-model table from its replayed events, and the verdict."""
    from greentui.text.printer import codecarbon_line, idle_line, summary_table
    from greentui.text.report import render_verdict

    console = script_console()
    stored = store.load_session(session_id)
    session = stored.session
    console.print(
        Text.assemble(
            ("session ", "bold"),
            (session.id, "bold"),
            f" · {session.status}",
            f" ({escape_controls(session.status_reason)})" if session.status_reason else "",
            f"\n  task {session.task_id} · started {format_when(session.started_unix_s)} · schedule {session.schedule}",
            f"\n  prompts: {prefill}" if (prefill := format_prompt_cache(session.settings)) else "",
            f"\n  power: {session.power_note}\n  grid: {format_intensity(session.grid_g_per_kwh)} ({session.grid_source})",
        )
    )
    verdict, tally, _ = stored_verdict(store, stored)
    for side, lane in tally.sides.items():
        console.print(Text(f"  {side} {lane.spec}" + (f" · {lane.label}" if lane.loaded is not None else "")))
    for line in _session_facts(session, tally):
        console.print(Text(f"  {line}"))
    idle = idle_line(session.idle)
    if idle:
        console.print(Text(f"  {idle}"))
    busy = tally.busy_line()
    if busy:
        console.print(Text(f"  {busy}", style="bold yellow"))
    stopped = stop_line(session, verdict)
    if stopped:
        console.print(Text(stopped))
    if verdict is not None:
        print_natural(console, render_verdict(verdict))
    else:
        print_natural(console, summary_table(tally))
        console.print(Text("no finished items, so no verdict"))
    crosscheck = codecarbon_line(session.measurements)
    if crosscheck:
        console.print(Text(crosscheck))
    rate = session.measurements.get("sample_rate_hz")
    if rate:
        console.print(Text(f"power sampled at {format_hz(rate)} from {', '.join(session.power_sources)}"))


def _session_facts(session: SessionRecord, tally: Tally) -> list[str]:
    """The hardware the session ran on (so results from different machines are not mixed up unknowingly), its
    sweep, and each served lane whose energy was not measured here."""
    from greentui.core.measure.fingerprint import describe_fingerprint

    lines = []
    if session.fingerprint:
        key = "mixed: resumed on other hardware" if session.fingerprint_key == "mixed" else session.fingerprint_key
        lines.append(f"hardware: {describe_fingerprint(session.fingerprint)} (fingerprint {key})")
    else:
        lines.append("hardware: not recorded (a session stored before greentui kept fingerprints)")
    if session.sweep_id:
        lines.append(f"sweep: {session.sweep_id} (greentui sweep show {session.sweep_id})")
    lines.extend(f"{lane.side} {lane.energy_note}" for lane in tally.sides.values() if lane.energy_note)
    return lines


def stop_line(session: SessionRecord, verdict: Verdict | None) -> str | None:
    """When and why a session that ran the stopping rule ended: ``stopped early at 2026-11-21 23:12:05, 1m14s
    after the start, after 34 of 60 items: settled: B more accurate ...``; None for other sessions."""
    stopping = verdict.stopping if verdict is not None else None
    if stopping is None or not session.settings.get("stop_when_settled"):
        return None
    ended = session.ended_unix_s
    when = ""
    if ended:
        when = f" at {format_when(ended)}, {format_seconds(ended - session.started_unix_s)} after the start,"
    if stopping.stopped_early:
        from greentui.core.verdict.stopping import accuracy_interval, outcome_words

        words = outcome_words("accuracy", stopping.accuracy_outcome, stopping.delta)
        interval = accuracy_interval(stopping.accuracy_lo, stopping.accuracy_hi)
        return (
            f"  stopped early{when} after {stopping.n_pairs} of {stopping.planned} items, because the accuracy "
            f"comparison settled: {words} ({interval}, anytime-valid at α {stopping.alpha:g})"
        )
    if stopping.n_pairs >= stopping.planned:
        return f"  ran all {stopping.planned} planned items (ended{when.rstrip(',')}): {stopping.summary}"
    why = f"{session.status}: {session.status_reason}" if session.status_reason else session.status
    return f"  ended{when} after {stopping.n_pairs} of {stopping.planned} items ({why}): {stopping.summary}"


def export_session(store: SessionStore, session_id: str, fmt: str) -> str:
    from greentui.store.export import export_csv, export_json
    from greentui.text.report import session_markdown

    if fmt == "csv":
        return export_csv(store, session_id)
    if fmt == "json":
        from greentui.text.listing_json import shown

        stored = store.load_session(session_id)
        verdict, _, source = stored_verdict(store, stored)
        return export_json(store, session_id, extra={"shown": shown(stored, verdict, source)})
    if fmt == "html":
        from greentui.text.html import session_html

        stored = store.load_session(session_id)
        verdict, _, _ = stored_verdict(store, stored)
        return session_html(stored, store.samples(stored.session.id), verdict)
    stored = store.load_session(session_id)
    verdict, _, _ = stored_verdict(store, stored)
    return session_markdown(stored.session_dict(), stored.runs_dicts(), stored.items_summary(), verdict)


def print_tasks() -> None:
    from greentui.core.evaluate.tasks import builtin_tasks, unavailable_builtin_tasks

    console = script_console()
    table = Table(title="built-in tasks (add your own: --task path/to/folder)", title_justify="left")
    for column in ("id", "category", "items", "metric", "baseline s0"):
        table.add_column(column, no_wrap=True)
    table.add_column("provenance", ratio=1)
    for task in builtin_tasks():
        table.add_row(
            *[
                _cell(v)
                for v in (
                    task.id,
                    task.category,
                    str(len(task.items)),
                    task.metric,
                    f"{task.baseline:g}",
                    task.provenance,
                )
            ]
        )
    for task_id, reason in unavailable_builtin_tasks().items():
        table.add_row(*[_cell(v) for v in (task_id, "", "not installed", "", "", reason)])
    print_natural(console, table)


def print_models() -> None:
    from greentui.core.models.resolve import catalog_rows

    console = script_console()
    table = Table(title="model catalog (any Hugging Face id, folder or .gguf file also works)", title_justify="left")
    for column in ("spec", "model", "size", "here"):
        table.add_column(column, no_wrap=True)
    table.add_column("notes", ratio=1)
    for row in catalog_rows():
        table.add_row(*[_cell(v) for v in (row.spec, row.model, row.size, row.status, row.note)])
    print_natural(console, table)
    print_served_models(console)


def print_served_models(console: Console) -> None:
    """The served-model forms, with what answers on this host's default ports (loopback only)."""
    from greentui.core.models.served_probe import served_rows

    table = Table(title="served models (an OpenAI-compatible server; see docs/SERVED_MODELS.md)", title_justify="left")
    for column in ("spec", "here"):
        table.add_column(column, no_wrap=True)
    table.add_column("notes", ratio=1)
    for row in served_rows():
        table.add_row(*[_cell(v) for v in (row.spec, row.status, row.note)])
    print_natural(console, table)
