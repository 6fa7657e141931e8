"""greentui's session store: SQLite (standard library sqlite3), WAL, versioned schema, one batching writer thread.

From the rest of greentui it imports only :mod:`greentui.core.records` (with the records that module re-exports)
and the leaf modules :mod:`greentui.paths` and :mod:`greentui.untrusted` (import-linter contracts: pyproject.toml).
"""

from __future__ import annotations

from greentui.store.db import SessionStore, default_db_path
from greentui.store.errors import (
    AmbiguousSessionIdError,
    NotAGreentuiDatabaseError,
    SessionNotFoundError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreVersionError,
)
from greentui.store.journal import JournalError
from greentui.store.migrations import SCHEMA_VERSION
from greentui.store.recover import RecoveryReport, recover_journal
from greentui.store.rows import (
    ResumeInfo,
    RunRecord,
    SessionRecord,
    SessionSummary,
    SideSummary,
    StoredSession,
)
from greentui.store.writer import StoreWriter, WriterStatus

__all__ = [
    "SCHEMA_VERSION",
    "AmbiguousSessionIdError",
    "JournalError",
    "NotAGreentuiDatabaseError",
    "RecoveryReport",
    "ResumeInfo",
    "RunRecord",
    "SessionNotFoundError",
    "SessionRecord",
    "SessionStore",
    "SessionSummary",
    "SideSummary",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "StoreReadOnlyError",
    "StoreVersionError",
    "StoreWriter",
    "StoredSession",
    "WriterStatus",
    "default_db_path",
    "recover_journal",
]
