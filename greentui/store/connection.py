"""The few database calls the store makes, over the standard library's :mod:`sqlite3`.

The store used to open every connection through ``sqlite_utils.Database``. Importing sqlite-utils imports pandas
and numpy whenever they are installed (it offers them for its own features, which greentui never uses): 0.6 s
before ``greentui sessions`` could print a line. :class:`Database` keeps the calls the store makes, with the same
names and the same transaction behaviour as sqlite-utils 3.x/4.x, so a write outside an explicit transaction is
committed at once and a script run inside ``BEGIN IMMEDIATE`` stays part of that transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

Params = Sequence[Any] | Mapping[str, Any]

_TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def _first_keyword(sql: str) -> str:
    """The first word of ``sql`` in capitals, after leading comments and blanks."""
    text = sql.lstrip()
    while text.startswith(("--", "/*")):
        if text.startswith("--"):
            text = text.split("\n", 1)[1] if "\n" in text else ""
        else:
            text = text.split("*/", 1)[1] if "*/" in text else ""
        text = text.lstrip()
    return text.split(None, 1)[0].upper().rstrip(";") if text else ""


def _statements(script: str) -> Iterator[str]:
    """The complete statements of ``script`` (a statement may span lines; ``;`` inside strings is kept)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending
            pending = ""
    if pending.strip() and _first_keyword(pending):
        yield pending


class Database:
    """A :class:`sqlite3.Connection` (``.conn``) with the store's calls: ``execute``, ``executescript``,
    ``query``, ``table_names``, ``journal_mode``, ``enable_wal``, ``rollback`` and ``close``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.execute("PRAGMA recursive_triggers = on")  # as sqlite-utils set it: the schema was written under it

    def execute(self, sql: str, parameters: Params | None = None) -> sqlite3.Cursor:
        """Run one statement. A write outside an open transaction is committed at once (the driver would
        otherwise open an implicit transaction that captures every later write); inside one it joins it."""
        was_in_transaction = self.conn.in_transaction
        try:
            cursor = self.conn.execute(sql) if parameters is None else self.conn.execute(sql, parameters)
        except Exception:
            if not was_in_transaction and self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        if (
            not was_in_transaction
            and self.conn.in_transaction
            and cursor.description is None
            and _first_keyword(sql) not in _TRANSACTION_CONTROL
        ):
            self.conn.execute("COMMIT")
        return cursor

    def executescript(self, sql: str) -> sqlite3.Cursor:
        """Run several statements; inside an open transaction one by one, so that the driver does not commit it."""
        if not self.conn.in_transaction:
            return self.conn.executescript(sql)
        cursor = self.conn.cursor()
        for statement in _statements(sql):
            cursor.execute(statement)
        return cursor

    def query(self, sql: str, params: Params | None = None) -> Iterator[dict[str, Any]]:
        """The rows of a reading statement as dicts keyed by column name."""
        cursor = self.execute(sql, params)
        if cursor.description is None:
            raise ValueError("query() needs a statement that returns rows; use execute() for the others")
        keys = [column[0] for column in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor)

    def table_names(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]

    @property
    def journal_mode(self) -> str:
        return str(self.conn.execute("PRAGMA journal_mode").fetchone()[0])

    def enable_wal(self) -> None:
        """Switch to write-ahead logging (only possible outside a transaction, in driver autocommit)."""
        if self.journal_mode == "wal":
            return
        if self.conn.in_transaction:
            raise sqlite3.OperationalError("cannot change the journal mode inside a transaction")
        with self._autocommit():
            self.conn.execute("PRAGMA journal_mode = wal")

    @contextlib.contextmanager
    def _autocommit(self) -> Iterator[None]:
        previous = self.conn.isolation_level
        self.conn.isolation_level = None
        try:
            yield
        finally:
            self.conn.isolation_level = previous

    def rollback(self) -> None:
        """Roll the open transaction back; nothing when none is open."""
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()
