"""The SQL sandbox: one model-written statement on a read-only, time-limited SQLite connection."""

from __future__ import annotations

import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SqlError(Exception):
    """A query that could not run (syntax, denied operation, time limit, too many rows); the message is one line."""


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


_ALLOWED_ACTIONS = {sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_DENIED_FUNCTIONS = {"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"}


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    """SQLite authorizer: reads, SELECT, recursive CTEs and ordinary functions only; everything else is denied."""
    if action not in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def run_readonly_query(db_path: Path, sql: str, *, timeout_s: float = 5.0, max_rows: int = 100_000) -> QueryResult:
    """Run one SQL statement on ``db_path`` without any way to change it, within ``timeout_s`` seconds.

    Layers: a ``mode=ro`` URI, ``PRAGMA query_only``, no attached databases, an authorizer that only allows
    reads, a progress handler that aborts at the deadline, caps on string length and row count, and Python's
    single-statement ``execute``. Raises :class:`SqlError`.
    """
    db_path = Path(db_path).resolve()
    if not db_path.is_file():
        raise SqlError(f"database not found: {db_path}")
    uri = f"{db_path.as_uri()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise SqlError(f"cannot open {db_path.name}: {exc}") from None
    try:
        conn.execute("PRAGMA query_only = ON")
        _set_limits(conn)
        conn.set_authorizer(_authorize)
        deadline = time.monotonic() + timeout_s
        # Called every 1000 virtual-machine instructions: a non-zero return interrupts the statement.
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        try:
            cursor = conn.execute(sql.strip().rstrip(";"))
            rows: list[tuple[Any, ...]] = []
            while batch := cursor.fetchmany(1000):
                rows.extend(batch)
                if len(rows) > max_rows:
                    raise SqlError(f"the query returned more than {max_rows} rows")
        except sqlite3.Warning as exc:  # e.g. more than one statement
            raise SqlError(_sql_message(exc)) from None
        except sqlite3.Error as exc:
            if time.monotonic() > deadline:
                raise SqlError(f"the query ran past the {timeout_s:g} s limit") from None
            raise SqlError(_sql_message(exc)) from None
        columns = tuple(d[0] for d in cursor.description or ())
        return QueryResult(columns=columns, rows=tuple(rows))
    finally:
        conn.close()


def _set_limits(conn: sqlite3.Connection) -> None:
    """No attached databases, no giant strings or blobs (no huge group_concat), no huge statements.

    ``Connection.setlimit`` exists from Python 3.11; on 3.10 the other layers still apply.
    """
    if sys.version_info >= (3, 11):
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 10_000_000)  # bytes of one string or blob
        conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 100_000)


def _sql_message(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if "not authorized" in text or "authorization denied" in text:
        return "not allowed: only a read-only SELECT may run"
    if "one statement at a time" in text:
        return "only a single statement may run"
    return text
