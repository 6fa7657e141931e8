"""``greentui recover FILE``: bring a recovery journal (store/journal.py) into a database.

Everything happens in one transaction through the same :class:`~greentui.store.batch.Batch` the writer uses, with
its recovery statements: a row the database already has is never overwritten (an item finished there stays as it
is; a session resumed since keeps its own end), so recovering the same journal twice adds nothing the second
time, and recovering after a ``resume`` fills in only what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from greentui.core.records import ItemScored, SessionStarted
from greentui.store.batch import Batch
from greentui.store.journal import JournalError, JournalHeader, iter_sessions, read_journal

if TYPE_CHECKING:
    from greentui.store.connection import Database
    from greentui.store.db import SessionStore


@dataclass(frozen=True)
class RecoveredSession:
    session_id: str
    items_in_journal: int  # finished items the journal holds
    items_added: int  # of those, the ones the database did not have
    status: str  # the session's status after recovery


@dataclass(frozen=True)
class RecoveryReport:
    path: Path
    header: JournalHeader
    sessions: tuple[RecoveredSession, ...]
    events: int
    truncated: bool  # the journal's last line was cut short and skipped

    @property
    def items_added(self) -> int:
        return sum(s.items_added for s in self.sessions)


def _finished_items(db: Database, session_ids: list[str]) -> dict[str, int]:
    counts = {}
    for session_id in session_ids:
        row = db.execute(
            "SELECT count(*) FROM items WHERE session_id = ? AND ended_mono_s IS NOT NULL", (session_id,)
        ).fetchone()
        counts[session_id] = int(row[0])
    return counts


def recover_journal(store: SessionStore, path: Path) -> RecoveryReport:
    """Add what the journal at ``path`` holds and the database lacks; raises StoreError (JournalError for a bad
    file) with one line, and then adds nothing."""
    contents = read_journal(path)
    header = contents.header
    session_ids = list(iter_sessions(contents.records))
    started = {sid for sid, event in contents.records if isinstance(event, SessionStarted)}
    in_journal = dict.fromkeys(session_ids, 0)
    batch = Batch()
    identity = (header.host, header.pid, header.pid_started_unix_s)
    for session_id, event in contents.records:
        batch.add(session_id, event, identity)
        if isinstance(event, ItemScored):
            in_journal[session_id] += 1

    def apply(db: Database) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
        known = {row[0] for row in db.execute("SELECT id FROM sessions").fetchall()}
        for session_id in session_ids:
            if session_id not in known and session_id not in started:
                raise JournalError(
                    f"{path}: session {session_id} is not in {store.path} and the journal does not start it; "
                    f"recover it into the database it came from ({header.database})"
                )
        before = _finished_items(db, session_ids)
        batch.execute(db.conn, recovering=(header.host, header.pid))
        after = _finished_items(db, session_ids)
        statuses = {
            sid: str(db.execute("SELECT status FROM sessions WHERE id = ?", (sid,)).fetchone()[0])
            for sid in session_ids
        }
        return before, after, statuses

    before, after, statuses = store._write("recover the journal", apply)
    sessions = tuple(
        RecoveredSession(sid, in_journal[sid], after[sid] - before[sid], statuses[sid]) for sid in session_ids
    )
    return RecoveryReport(path, header, sessions, len(contents.records), contents.truncated)
