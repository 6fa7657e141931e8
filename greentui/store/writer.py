"""The store's single writer: a thread that turns the session's events into rows, in batches, and loses none.

``handle(event)`` is called from the session thread and the power sampler thread; it only appends to a
list under a lock, so it never waits on the disk. The thread commits at once when an event that must not be
lost arrives (SessionStarted, ModelLoaded, ItemScored, RunFailed, SessionFinished) and otherwise (power
samples, ItemStarted, IdleMeasured) at most once a second, with ``executemany`` per statement (store/batch.py).

When a commit fails, nothing is dropped:

* **Locked** by another process (past the connection's short busy timeout): the writer keeps the batch, keeps
  taking new events, and tries again every ``retry_interval_s``; its :attr:`StoreWriter.status` says
  ``waiting`` (reported through ``on_status``) until a commit goes through. After ``journal_after_s`` of waiting
  the events held are also written to a recovery journal, so even a killed process loses nothing; the journal
  is deleted once the database has them. When the writer is closed while still waiting, it waits up to
  ``close_wait_s`` more (or until :meth:`StoreWriter.stop_waiting`), then journals them.
* **Cannot succeed** (disk full, read-only, damaged file, anything else): the events of the failed batch and every
  later one go to the recovery journal (store/journal.py); :attr:`StoreWriter.error` says where, once, through
  ``on_error``. ``greentui recover FILE`` brings them into a database.
* **No journal can be written either**: the events stay in memory (``status.state == "lost"``) and each later
  commit tries the journal's places again; what is still unwritten when the thread ends counts in
  :attr:`StoreWriter.dropped_events`.
"""

from __future__ import annotations

from pathlib import Path

from greentui.core.records import Event
from greentui.store.batch import FLUSH_KINDS, NOT_STORED
from greentui.store.writer_thread import WriterState, WriterStatus, WriterThread

__all__ = ["StoreWriter", "WriterState", "WriterStatus"]


class StoreWriter(WriterThread):
    """Writes one session's events (or several sessions' in turn) from a background thread.

    ``connect`` opens the thread's own connection (raising StoreError); keep its busy timeout short (about a
    second) so a lock shows as ``waiting`` quickly. ``flush_interval_s`` is the longest time a power sample waits
    before it is committed; ``max_batch`` caps the rows sent in one commit while the database takes them.
    ``journal_dirs`` overrides where a recovery journal may go (tests).
    """

    # ---- called from any thread ------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        """Queue one event (thread-safe, never waits on the disk). Token and load-progress events are skipped."""
        if event.kind in NOT_STORED:
            return
        with self._cond:
            if self._closing:
                self._dropped_closed += 1
                return
            self._queue.append(event)
            self._received += 1
            if event.kind in FLUSH_KINDS or len(self._queue) >= self._max_batch:
                self._cond.notify_all()

    def flush(self, timeout_s: float | None = None) -> bool:
        """Commit everything handled so far; True once done (saved or journaled), False on timeout (a
        locked database holds a flush until it is free)."""
        with self._cond:
            target = self._received
            self._flush_target = max(self._flush_target, target)
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._settled >= target or not self._thread.is_alive(), timeout_s)

    def close(self, timeout_s: float | None = None) -> bool:
        """Drain the queue, commit, and stop the thread; True once it ended. Safe to call twice.

        While the database stays locked this waits up to ``close_wait_s`` (then journals); :meth:`stop_waiting`
        from another thread (or a signal handler) cuts that short.
        """
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def stop_waiting(self) -> None:
        """Stop waiting for a locked database: what it holds back goes to the recovery journal now."""
        with self._cond:
            self._give_up_wait = True
            self._cond.notify_all()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def status(self) -> WriterStatus:
        """The latest state (thread-safe to read: a frozen record replaced as a whole)."""
        return self._status

    @property
    def journal_path(self) -> Path | None:
        """The recovery journal holding what the database did not take (None: everything is in the database)."""
        return self._status.journal_path if self._status.state in ("journal", "lost") else None

    @property
    def dropped_events(self) -> int:
        """Events written nowhere: before any SessionStarted, handled after close(), or neither the database
        nor any journal place took them."""
        return self._dropped_closed + self._dropped_unsaved

    @property
    def session_id(self) -> str | None:
        """The session the writer is storing now (from the last SessionStarted)."""
        return self._session_id
