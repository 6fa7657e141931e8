"""SessionStore: greentui's SQLite database (sqlite-utils, WAL, versioned schema, one writer thread).

Opening checks the file before anything is written: a text file, another program's SQLite database, a
damaged file or one from a newer greentui is refused with a one-line :class:`StoreError` and left exactly
as it was. An older greentui database is migrated forward. Sessions left ``running`` by a process that no
longer exists are marked ``interrupted`` on every read-write open.

Reading methods may be called from any thread (one connection, guarded by a lock); writing a live session
goes through :meth:`SessionStore.writer`, which has its own connection and thread.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
from sqlite_utils import Database

from greentui import paths
from greentui.core.records import SIDES, Event, ItemScored, PowerSample, Side
from greentui.store.errors import (
    AmbiguousSessionIdError,
    NotAGreentuiDatabaseError,
    SessionNotFoundError,
    StoreBusyError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreVersionError,
    low_space,
    translate,
)
from greentui.store.migrations import SCHEMA_VERSION, check_version, ensure_current, read_identity
from greentui.store.rows import (
    ResumeInfo,
    RunRecord,
    SessionRecord,
    SessionSummary,
    StoredSession,
    item_from_row,
    item_started_from_row,
    replay_events,
    run_from_row,
    sample_from_row,
    session_from_row,
    summary_from_row,
)
from greentui.store.writer import StoreWriter, WriterStatus

SQLITE_MAGIC = b"SQLite format 3\x00"
STATUSES = ("running", "completed", "interrupted", "failed")
_PAGE_ROWS = 4096  # samples fetched per query while replaying
STALE_WAIT_S = 0.5  # how long opening waits for another process's lock to mark stale sessions (then skips it)
WRITER_BUSY_TIMEOUT_S = 1.0  # the writer's connection: a lock shows as "waiting" after this, then is retried


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


class SessionStore:
    """The session database at ``path`` (created when missing, unless ``readonly``).

    ``busy_timeout_s`` is how long a statement waits for another process's write lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False, busy_timeout_s: float = 5.0):
        self.path = Path(path).expanduser()
        self.readonly = readonly
        self.busy_timeout_s = busy_timeout_s
        self._lock = threading.RLock()
        self._check_file()
        created = not self.path.exists()
        try:
            with self._guard("open the database"):
                self._db = self._open_checked()
        except StoreError:
            if created:  # an empty file this open made (a full disk): leave nothing behind
                for leftover in (self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm"))):
                    with contextlib.suppress(OSError):
                        if leftover.exists() and leftover.stat().st_size < 4096:
                            leftover.unlink()
            raise
        if not readonly:
            try:
                # also the first read of real data: a damaged file fails here. Marking stale sessions waits only
                # a moment for another process's write lock: a reading command must not stall behind a writer.
                self.recover_stale(wait_s=STALE_WAIT_S)
            except BaseException:
                self._db.close()
                raise

    # ---- opening ---------------------------------------------------------------------------------
    def _check_file(self) -> None:
        """Refuse, without opening SQLite, what is plainly not ours or not writable."""
        path = self.path
        if path.is_dir():
            raise StoreError(f"{path} is a folder, not a database file")
        if path.exists():
            try:
                with path.open("rb") as handle:
                    header = handle.read(len(SQLITE_MAGIC))
            except OSError as exc:
                raise StoreError(f"cannot read {path} ({exc.strerror})") from exc
            if header and header != SQLITE_MAGIC:
                raise NotAGreentuiDatabaseError(f"{path} is not a greentui database (not an SQLite file)")
        elif self.readonly:
            raise StoreError(f"no greentui database at {path}")
        if self.readonly:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreReadOnlyError(f"cannot create the folder {path.parent} ({exc.strerror})") from exc
        # WAL needs the -wal and -shm files beside the database, so the folder must be writable too.
        if (path.exists() and not os.access(path, os.W_OK)) or not os.access(path.parent, os.W_OK):
            raise StoreReadOnlyError(
                f"{path} is read-only (no write permission on the file or its folder); open it read-only to browse it"
            )

    def _connect(self, *, readonly: bool, immutable: bool = False, busy_timeout_s: float | None = None) -> Database:
        mode = "ro" if readonly else "rwc"
        uri = f"{self.path.resolve().as_uri()}?mode={mode}" + ("&immutable=1" if immutable else "")
        timeout_s = self.busy_timeout_s if busy_timeout_s is None else busy_timeout_s
        conn = sqlite3.connect(uri, uri=True, timeout=timeout_s, check_same_thread=False)
        try:
            db = Database(conn, execute_plugins=False)
            db.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000):d}")
            db.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                # WAL + NORMAL: a commit survives the process being killed; only an OS crash may lose the last ones.
                db.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()  # promptly: an open connection keeps -wal/-shm files beside a file we refuse
            raise
        return db

    def _open_checked(self) -> Database:
        if self.readonly:
            db = self._connect(readonly=True)
            try:
                identity = read_identity(db)
            except sqlite3.OperationalError:
                # A WAL database in a folder we cannot write has no -shm file to map: read it as immutable. So on a
                # full disk (no room for the -shm), as long as no WAL content would be missed.
                db.close()
                wal = self.path.with_name(self.path.name + "-wal")
                wal_empty = not wal.exists() or wal.stat().st_size == 0
                if os.access(self.path.parent, os.W_OK) and not (low_space(self.path) and wal_empty):
                    raise
                db = self._connect(readonly=True, immutable=True)
                identity = read_identity(db)
            try:
                self._refuse_foreign(identity)
                if identity.user_version != SCHEMA_VERSION:
                    raise StoreVersionError(
                        f"{self.path} has schema v{identity.user_version} and must be upgraded to "
                        f"v{SCHEMA_VERSION}: open it once without read-only"
                    )
            except BaseException:
                db.close()
                raise
            return db
        db = self._connect(readonly=False)
        try:
            # Look before touching: query_only makes SQLite refuse any write until the file is known to be
            # ours (a read-write connection, unlike a read-only one, removes its -wal/-shm files on close).
            db.execute("PRAGMA query_only = ON")
            self._refuse_foreign(read_identity(db))
            db.execute("PRAGMA query_only = OFF")
            if db.journal_mode != "wal":
                db.enable_wal()
            if read_identity(db).user_version != SCHEMA_VERSION:
                ensure_current(db, self.path)
        except BaseException:
            db.close()
            raise
        return db

    def _refuse_foreign(self, identity: Any) -> None:
        if not (identity.is_greentui or identity.is_empty):
            tables = ", ".join(identity.tables[:5]) or "none"
            raise NotAGreentuiDatabaseError(
                f"{self.path} is not a greentui database (an SQLite file with other tables: {tables})"
            )
        if self.readonly and identity.is_empty:
            raise NotAGreentuiDatabaseError(f"{self.path} is an empty SQLite file, not a greentui database yet")
        check_version(identity, self.path)

    def _connect_writer(self) -> Database:
        """A fresh read-write connection for the writer thread (raises StoreError), with a short busy timeout:
        the writer itself retries a locked database and says that it waits."""
        with self._guard("open the database for writing"):
            return self._connect(readonly=False, busy_timeout_s=min(self.busy_timeout_s, WRITER_BUSY_TIMEOUT_S))

    def check_writable(self) -> None:
        """Raise the StoreError a session's first commit would meet (read-only, full, damaged), before any model
        loads: a real commit that changes nothing (the schema version set to itself still writes a page). A
        database locked by another process passes: the writer waits for it."""
        if self.readonly:
            raise StoreReadOnlyError(f"{self.path} was opened read-only: cannot record a session")
        try:
            self._write(
                "write to the database",
                lambda db: db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}"),
                wait_s=WRITER_BUSY_TIMEOUT_S,
            )
        except StoreBusyError:
            return

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise translate(exc, self.path, doing) from exc

    def _query(self, sql: str, params: Any = (), doing: str = "read the sessions") -> list[dict[str, Any]]:
        with self._lock, self._guard(doing):
            return list(self._db.query(sql, params))

    def _write(self, doing: str, action: Callable[[Database], Any], *, wait_s: float | None = None) -> Any:
        """Run ``action`` in one write transaction; ``wait_s`` overrides the busy timeout for this one."""
        if self.readonly:
            raise StoreReadOnlyError(f"{self.path} was opened read-only: cannot {doing}")
        if wait_s is not None:
            with self._lock:
                self._db.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000):d}")
                try:
                    return self._write(doing, action)
                finally:
                    self._db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000):d}")
        with self._lock, self._guard(doing):
            # IMMEDIATE takes the write lock up front (waiting up to the busy timeout for another writer)
            # instead of failing at once when a read transaction cannot be upgraded.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = action(self._db)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.rollback()
                raise
            return result

    def close(self) -> None:
        with self._lock:
            self._db.close()

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

        def mark(db: Database) -> Any:
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
    ) -> list[SessionSummary]:
        """Sessions, newest first, with per-side progress, accuracy, energy and the verdict sentence.

        ``task`` matches the task id or name exactly; ``model`` is a case-insensitive substring of either
        model spec; ``since``/``until`` bound the start time; ``sweep`` keeps the sessions of that sweep.
        """
        where: list[str] = []
        params: list[object] = []
        if task is not None:
            where.append("(s.task_id = ? OR s.task_name = ?)")
            params += [task, task]
        if model is not None:
            pattern = "%" + model.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(s.model_a LIKE ? ESCAPE '\\' OR s.model_b LIKE ? ESCAPE '\\')")
            params += [pattern, pattern]
        if status is not None:
            if status not in STATUSES:
                raise StoreError(f"unknown session status {status!r} (expected one of {', '.join(STATUSES)})")
            where.append("s.status = ?")
            params.append(status)
        if sweep is not None:
            where.append("s.sweep_id = ?")
            params.append(sweep)
        if since_unix_s is not None:
            where.append("s.started_unix_s >= ?")
            params.append(since_unix_s)
        if until_unix_s is not None:
            where.append("s.started_unix_s < ?")
            params.append(until_unix_s)
        side_cols = ", ".join(
            f"{x}.{c} AS {x}_{c}"
            for x in ("a", "b")
            for c in ("status", "items_done", "correct", "score_sum", "energy_j", "failure", "provenance")
        )
        sql = (
            "SELECT s.id, s.status, s.status_reason, s.task_id, s.task_name, s.task_version, s.n_items, s.schedule, "
            f"s.model_a, s.model_b, s.power_quality, s.started_unix_s, s.ended_unix_s, s.sweep_id, {side_cols}, "
            "(SELECT v.sentence FROM verdicts AS v WHERE v.session_id = s.id ORDER BY v.id DESC LIMIT 1) AS sentence "
            "FROM sessions AS s "
            "LEFT JOIN runs AS a ON a.session_id = s.id AND a.side = 'A' "
            "LEFT JOIN runs AS b ON b.session_id = s.id AND b.side = 'B' "
            + (("WHERE " + " AND ".join(where) + " ") if where else "")
            + "ORDER BY s.started_unix_s DESC, s.id"
            + (" LIMIT ?" if limit is not None else "")
        )
        if limit is not None:
            params.append(int(limit))
        return [summary_from_row(row) for row in self._query(sql, params)]
