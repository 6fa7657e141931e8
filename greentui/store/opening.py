"""Opening greentui's SQLite file safely: the checks before anything is written, the connections, and the
guarded read and write helpers that :class:`~greentui.store.db.SessionStore` is built on.

Opening checks the file before anything is written: a text file, another program's SQLite database, a
damaged file or one from a newer greentui is refused with a one-line :class:`StoreError` and left exactly
as it was. An older greentui database is migrated forward.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from greentui.store.connection import Database
from greentui.store.errors import (
    NotAGreentuiDatabaseError,
    StoreBusyError,
    StoreError,
    StoreReadOnlyError,
    StoreVersionError,
    low_space,
    translate,
)
from greentui.store.migrations import (
    SCHEMA_VERSION,
    Identity,
    check_columns,
    check_version,
    ensure_current,
    read_identity,
)

_T = TypeVar("_T")

SQLITE_MAGIC = b"SQLite format 3\x00"
WRITER_BUSY_TIMEOUT_S = 1.0  # the writer's connection: a lock shows as "waiting" after this, then is retried


class StoreFile:
    """The database file at ``path``, opened and checked (created when missing, unless ``readonly``).

    ``busy_timeout_s`` is how long a statement waits for another process's write lock. Reads may come from any
    thread (one connection, guarded by a lock); every write is one ``BEGIN IMMEDIATE`` transaction.
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
            db = Database(conn)
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
                if identity.is_greentui:
                    check_columns(db, self.path)
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
            check_columns(db, self.path)
        except BaseException:
            db.close()
            raise
        return db

    def _refuse_foreign(self, identity: Identity) -> None:
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

    def _write(self, doing: str, action: Callable[[Database], _T], *, wait_s: float | None = None) -> _T:
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
