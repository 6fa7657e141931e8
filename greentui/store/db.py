"""SessionStore: greentui's SQLite database (sqlite3, WAL, versioned schema, one writer thread).

Opening (:mod:`greentui.store.opening`) checks the file before anything is written and migrates an older
greentui database forward. Sessions left ``running`` by a process that no longer exists are marked
``interrupted`` on every read-write open.

Reading methods may be called from any thread (one connection, guarded by a lock); writing a live session
goes through :meth:`SessionStore.writer`, which has its own connection and thread.
"""

from __future__ import annotations

import heapq
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from greentui import paths
from greentui.core.records import SIDES, Event, ItemScored, PowerSample, Side
from greentui.store.connection import Database
from greentui.store.errors import (
    AmbiguousSessionIdError,
    SessionNotFoundError,
    StoreBusyError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
)
from greentui.store.from_rows import (
    item_from_row,
    item_started_from_row,
    replay_events,
    run_from_row,
    sample_from_row,
    session_from_row,
    summary_from_row,
)
from greentui.store.listing import STATUSES, SessionFilter, count_sql, list_sql
from greentui.store.opening import StoreFile
from greentui.store.rows import ResumeInfo, RunRecord, SessionRecord, SessionSummary, StoredSession
from greentui.store.writer import StoreWriter, WriterStatus

_PAGE_ROWS = 4096  # samples fetched per query while replaying
STALE_WAIT_S = 0.5  # how long opening waits for another process's lock to mark stale sessions (then skips it)


def default_db_path() -> Path:
    """``$GREENTUI_DB`` if set, else ``<platformdirs user_data_dir("greentui")>/greentui.db`` (see greentui.paths)."""
    return paths.db_path()


def _pid_alive(pid: int | None, created_unix_s: float | None) -> bool:
    """True if process ``pid`` runs and (when known) was created at ``created_unix_s`` (pids get reused)."""
    if pid is None:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return created_unix_s is None or abs(process.create_time() - created_unix_s) < 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # AccessDenied and the like: it exists, so do not touch its session
        return True


class SessionStore(StoreFile):
    """The session database at ``path`` (created when missing, unless ``readonly``).

    ``busy_timeout_s`` is how long a statement waits for another process's write lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False, busy_timeout_s: float = 5.0):
        super().__init__(path, readonly=readonly, busy_timeout_s=busy_timeout_s)
        if not readonly:
            try:
                # also the first read of real data: a damaged file fails here. Marking stale sessions waits only
                # a moment for another process's write lock: a reading command must not stall behind a writer.
                self.recover_stale(wait_s=STALE_WAIT_S)
            except BaseException:
                self._db.close()
                raise

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writing ---------------------------------------------------------------------------------
    def writer(
        self,
        *,
        on_error: Callable[[StoreError], None] | None = None,
        on_status: Callable[[WriterStatus], None] | None = None,
        flush_interval_s: float = 1.0,
        **options: Any,
    ) -> StoreWriter:
        """Start a writer thread; feed it with ``writer.handle(event)``, finish with ``writer.close()``.

        ``on_error`` hears once of a write that cannot succeed (the message names the recovery journal);
        ``on_status`` hears every change of state (waiting for a lock, saving again, journaling). ``options``
        go to :class:`StoreWriter` (``close_wait_s``, ``journal_after_s``, ``journal_dirs``...).
        """
        if self.readonly:
            raise StoreReadOnlyError(f"{self.path} was opened read-only: cannot record a session")
        return StoreWriter(
            self._connect_writer,
            self.path,
            on_error=on_error,
            on_status=on_status,
            flush_interval_s=flush_interval_s,
            **options,
        )

    def save_verdict(self, session_id: str, verdict: dict[str, Any], sentence: str | None = None) -> None:
        """Store a verdict (``Verdict.to_dict()``) and its one-line sentence; the latest one is shown."""
        full_id = self.resolve_id(session_id)
        payload = json.dumps(verdict, default=str)
        self._write(
            "save the verdict",
            lambda db: db.execute(
                "INSERT INTO verdicts (session_id, created_unix_s, verdict_json, sentence) VALUES (?, ?, ?, ?)",
                (full_id, time.time(), payload, sentence),
            ),
        )

    def mark_status(self, session_id: str, status: str, reason: str = "") -> None:
        """Set a session's status (running / completed / interrupted / failed) and its reason."""
        if status not in STATUSES:
            raise StoreError(f"unknown session status {status!r} (expected one of {', '.join(STATUSES)})")
        full_id = self.resolve_id(session_id)
        self._write(
            "update the session status",
            lambda db: db.execute(
                "UPDATE sessions SET status = ?, status_reason = ? WHERE id = ?", (status, reason, full_id)
            ),
        )

    def delete(self, session_id: str, *, force: bool = False) -> str:
        """Delete a session and all its rows; returns its full id. A session still being written by a live
        process on this host is refused unless ``force``."""
        record = self.get_session(session_id)
        if record.status == "running" and not force and record.host == socket.gethostname():
            created = self._query("SELECT pid_started_unix_s FROM sessions WHERE id = ?", (record.id,))
            if _pid_alive(record.pid, created[0]["pid_started_unix_s"]):
                raise StoreError(f"session {record.id[:12]} is still running (pid {record.pid}); stop it first")
        self._write("delete the session", lambda db: db.execute("DELETE FROM sessions WHERE id = ?", (record.id,)))
        return record.id

    def recover_stale(self, *, wait_s: float | None = None) -> list[str]:
        """Mark ``running`` sessions of this host whose writing process is gone as ``interrupted``.

        ``wait_s``: wait at most this long for another process's write lock, then leave them as they are (a
        reading command shows them as stored), as on a full disk; None waits the usual busy timeout and raises.
        """
        if self.readonly:
            return []
        host = socket.gethostname()
        stale = [
            row
            for row in self._query(
                "SELECT id, pid, pid_started_unix_s FROM sessions WHERE status = 'running' AND host = ?", (host,)
            )
            if not _pid_alive(row["pid"], row["pid_started_unix_s"])
        ]
        if not stale:
            return []

        def mark(db: Database) -> sqlite3.Cursor:
            return db.conn.executemany(
                "UPDATE sessions SET status = 'interrupted', status_reason = ? WHERE id = ? AND status = 'running'",
                [
                    (f"the greentui process (pid {row['pid']}) ended before the session finished", row["id"])
                    for row in stale
                ],
            )

        try:
            self._write("mark interrupted sessions", mark, wait_s=wait_s)
        except (StoreBusyError, StoreFullError, StoreReadOnlyError):
            if wait_s is None:
                raise
            return []  # a full disk or a lock must not keep anyone from reading: they stay as stored
        return [row["id"] for row in stale]

    # ---- reading ---------------------------------------------------------------------------------
    def resolve_id(self, session_id: str) -> str:
        """The full id of the session ``session_id`` names exactly or as a unique prefix."""
        if not session_id or any(ch in session_id for ch in "*?[]"):
            raise SessionNotFoundError(f"no session {session_id!r} in {self.path}")
        found = self._query("SELECT id FROM sessions WHERE id = ?", (session_id,))
        if not found:
            found = self._query("SELECT id FROM sessions WHERE id GLOB ? ORDER BY id LIMIT 3", (session_id + "*",))
        if not found:
            raise SessionNotFoundError(f"no session {session_id!r} in {self.path}")
        if len(found) > 1:
            names = ", ".join(row["id"][:12] for row in found)
            raise AmbiguousSessionIdError(f"{session_id!r} matches several sessions ({names}...): give more characters")
        return str(found[0]["id"])

    def has_session(self, session_id: str) -> bool:
        """True if a session has exactly this id."""
        return bool(self._query("SELECT 1 FROM sessions WHERE id = ?", (session_id,)))

    def get_session(self, session_id: str) -> SessionRecord:
        full_id = self.resolve_id(session_id)
        return session_from_row(self._query("SELECT * FROM sessions WHERE id = ?", (full_id,))[0])

    def runs(self, session_id: str) -> dict[Side, RunRecord]:
        full_id = self.resolve_id(session_id)
        return {
            row["side"]: run_from_row(row)
            for row in self._query("SELECT * FROM runs WHERE session_id = ? ORDER BY side", (full_id,))
        }

    def items(self, session_id: str, side: Side | None = None) -> list[ItemScored]:
        """Finished items in task order, side A then B (or one side)."""
        full_id = self.resolve_id(session_id)
        sql = "SELECT * FROM items WHERE session_id = ? AND ended_mono_s IS NOT NULL"
        params: tuple[Any, ...] = (full_id,)
        if side is not None:
            sql, params = sql + " AND side = ?", (full_id, side)
        return [item_from_row(row) for row in self._query(sql + " ORDER BY side, idx, item_id", params)]

    def samples(self, session_id: str) -> list[PowerSample]:
        """Every stored power sample of the session, in t_mono_s order."""
        return list(self._iter_samples(self.resolve_id(session_id)))

    def load_session(self, session_id: str) -> StoredSession:
        """Session row, runs, finished items and the latest verdict, in one call."""
        record = self.get_session(session_id)
        verdict = self._query("SELECT * FROM verdicts WHERE session_id = ? ORDER BY id DESC LIMIT 1", (record.id,))
        return StoredSession(
            session=record,
            runs=self.runs(record.id),
            items=tuple(self.items(record.id)),
            verdict=json.loads(verdict[0]["verdict_json"]) if verdict else None,
            verdict_sentence=verdict[0]["sentence"] if verdict else None,
            verdict_created_unix_s=verdict[0]["created_unix_s"] if verdict else None,
        )

    def resume_info(self, session_id: str) -> ResumeInfo:
        record = self.get_session(session_id)
        done: dict[Side, set[str]] = {side: set() for side in SIDES}
        for row in self._query(
            "SELECT side, item_id FROM items WHERE session_id = ? AND ended_mono_s IS NOT NULL", (record.id,)
        ):
            done[row["side"]].add(row["item_id"])
        return ResumeInfo(
            session_id=record.id,
            status=record.status,
            settings=record.settings,
            task_version=record.task_version,
            done={side: frozenset(ids) for side, ids in done.items()},
        )

    def replay(self, session_id: str) -> Iterator[Event]:
        """The stored session as the events a live run emitted, in t_mono_s order (no token/loading events)."""
        record = self.get_session(session_id)
        item_rows = self._query("SELECT * FROM items WHERE session_id = ? ORDER BY side, idx", (record.id,))
        started = [e for e in map(item_started_from_row, item_rows) if e is not None]
        scored = [item_from_row(row) for row in item_rows if row["ended_mono_s"] is not None]
        return replay_events(record, self.runs(record.id).values(), started, scored, self._iter_samples(record.id))

    def _iter_samples(self, full_id: str) -> Iterator[PowerSample]:
        """Samples of every channel merged by time; each channel is read a page at a time along its primary
        key, so no cursor (and no lock) stays open while the caller consumes the iterator."""
        channels = self._query("SELECT * FROM channels WHERE session_id = ? ORDER BY id", (full_id,))

        def one_channel(channel: dict[str, Any]) -> Iterator[PowerSample]:
            after = float("-inf")
            while True:
                page = self._query(
                    "SELECT t_mono_s, power_w, energy_counter_j, temperature_c, sm_clock_mhz FROM samples "
                    "WHERE channel_id = ? AND t_mono_s > ? ORDER BY t_mono_s LIMIT ?",
                    (channel["id"], after, _PAGE_ROWS),
                )
                for row in page:
                    yield sample_from_row({**channel, **row})
                if len(page) < _PAGE_ROWS:
                    return
                after = page[-1]["t_mono_s"]

        return heapq.merge(*(one_channel(c) for c in channels), key=lambda s: s.t_mono_s)

    def list_sessions(
        self,
        task: str | None = None,
        model: str | None = None,
        status: str | None = None,
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
        limit: int | None = None,
        sweep: str | None = None,
        *,
        search: str = "",
        order_by: str = "date",
        descending: bool = True,
        offset: int = 0,
    ) -> list[SessionSummary]:
        """Sessions, newest first, with per-side progress, accuracy, energy and the verdict sentence.

        The filters are :class:`~greentui.store.listing.SessionFilter`'s (``search`` is the history's search box);
        ``order_by`` is one of :data:`~greentui.store.listing.SORT_SQL`; ``limit``/``offset`` give one page.
        Everything runs in SQLite, so a page costs the same with ten or ten thousand stored sessions.
        """
        where = SessionFilter(task, model, status, since_unix_s, until_unix_s, sweep, search)
        sql, params = list_sql(where, order_by=order_by, descending=descending, limit=limit, offset=offset)
        return [summary_from_row(row) for row in self._query(sql, params)]

    def count_sessions(
        self,
        task: str | None = None,
        model: str | None = None,
        status: str | None = None,
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
        sweep: str | None = None,
        *,
        search: str = "",
    ) -> int:
        """How many sessions :meth:`list_sessions` would list with the same filters and no limit."""
        sql, params = count_sql(SessionFilter(task, model, status, since_unix_s, until_unix_s, sweep, search))
        return int(self._query(sql, params)[0]["n"])
