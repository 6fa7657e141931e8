"""The commands that read or tend the store and the catalogues: sessions, show, export, delete, recover,
doctor, tasks and models; and how every command opens the store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from greentui.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError

if TYPE_CHECKING:  # imported when a command runs: start-up stays fast
    from greentui.store import SessionStore


def db_path(args: argparse.Namespace) -> Path:
    from greentui import paths

    return args.db.expanduser() if args.db else paths.db_path()


def open_store(args: argparse.Namespace, *, readonly: bool = False) -> SessionStore:
    """Open the session store.

    ``readonly=False`` (commands that write): it must open read-write and take a real write now, so a read-only,
    full or damaged database is refused in one line before any model loads (a lock held by another process is
    not refused: the writer waits for it). ``readonly=True`` (commands that read): read-write when possible, so
    sessions left ``running`` by a killed process are marked interrupted, else read-only (a read-only file, or
    another process holding the lock an upgrade would need); they never wait behind a writer."""
    from greentui.store import (  # not services: it imports the engine
        SessionStore,
        StoreBusyError,
        StoreError,
        StoreFullError,
        StoreReadOnlyError,
    )

    try:
        if not readonly:
            store = SessionStore(db_path(args))
            store.check_writable()
            return store
        try:
            return SessionStore(db_path(args))
        except (StoreReadOnlyError, StoreBusyError, StoreFullError):
            return SessionStore(db_path(args), readonly=True)
    except StoreError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None


def cmd_recover(args: argparse.Namespace) -> int:
    """Bring a recovery journal's results into the database (``--db`` or the default one)."""
    from greentui.services import recover
    from greentui.store import JournalError, StoreError

    store = open_store(args)
    try:
        report = recover(store, args.journal)
    except JournalError as exc:  # not a journal, a damaged line, or the wrong database: the input is wrong
        raise CliError(str(exc), EXIT_USAGE) from None
    except StoreError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    if report.truncated:
        print(f"{args.journal}: its last line was cut short (the process ended while writing it): skipped")
    for recovered in report.sessions:
        print(
            f"session {recovered.session_id}: {recovered.items_added} finished items added "
            f"({recovered.items_in_journal} in the journal, the others were already there), {recovered.status}"
        )
    print(f"recovered {args.journal} into {db_path(args)} (recovering it again adds nothing)")
    return EXIT_OK


def cmd_sessions(args: argparse.Namespace) -> int:
    from greentui.text.listing import print_sessions

    store = open_store(args, readonly=True)
    since = _parse_date(args.since, "--since")
    until = _parse_date(args.until, "--until", end_of_day=True)
    where = {
        "task": args.task,
        "model": args.model,
        "status": args.status,
        "since_unix_s": since,
        "until_unix_s": until,
    }
    rows = store.list_sessions(**where, limit=args.limit)
    matching = store.count_sessions(**where) if len(rows) == args.limit else len(rows)
    if args.json:
        from greentui.text.listing_json import sessions_json

        sys.stdout.write(sessions_json(rows, matching=matching, db_path=db_path(args), limit=args.limit))
    else:
        print_sessions(rows, db_path(args), matching=matching)
    return EXIT_OK


def _parse_date(text: str | None, flag: str, *, end_of_day: bool = False) -> float | None:
    import datetime as dt

    if not text:
        return None
    try:
        day = dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise CliError(f"{flag} {text!r}: expected a date as YYYY-MM-DD") from None
    if end_of_day:
        day += dt.timedelta(days=1)
    return day.timestamp()


def cmd_show(args: argparse.Namespace) -> int:
    from greentui.text.listing import print_session, session_json

    store = open_store(args, readonly=True)
    if args.json:
        sys.stdout.write(session_json(store, args.session_id))
    else:
        print_session(store, args.session_id)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from greentui.text.listing import export_session

    store = open_store(args, readonly=True)
    text = export_session(store, args.session_id, args.format)
    if args.output:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror}", EXIT_FAILED) from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    store = open_store(args)
    session = store.get_session(args.session_id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("refusing to delete without confirmation: add --yes")
        answer = input(
            f"delete session {session.id} ({session.task_id}, {session.model_a} vs {session.model_b})? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            print("kept", file=sys.stderr)
            return EXIT_OK
    store.delete(session.id)
    print(f"deleted session {session.id}", file=sys.stderr)
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from rich.console import Console

    from greentui.core.doctor import collect
    from greentui.text.doctor import render_doctor

    Console().print(render_doctor(collect(country_iso3=args.country)))
    return EXIT_OK


def cmd_tasks(args: argparse.Namespace) -> int:
    if args.json:
        from greentui.text.listing_json import tasks_json

        sys.stdout.write(tasks_json())
        return EXIT_OK
    from greentui.text.listing import print_tasks

    print_tasks()
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    if args.json:
        from greentui.text.listing_json import models_json

        sys.stdout.write(models_json())
        return EXIT_OK
    from greentui.text.listing import print_models

    print_models()
    return EXIT_OK
