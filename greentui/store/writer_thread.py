"""The store writer's thread side: its state, committing a batch, the recovery journal, and the loop.

:class:`~greentui.store.writer.StoreWriter` is what callers hold (``handle``, ``flush``, ``close``); this base
class owns everything the background thread does, described in :mod:`greentui.store.writer`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from greentui.core.records import Event, IdleMeasured, ModelLoaded, SessionStarted
from greentui.store.batch import FLUSH_KINDS, MAX_ORPHANS, Batch, process_identity
from greentui.store.connection import Database
from greentui.store.errors import StoreBusyError, StoreError, translate
from greentui.store.journal import JournalError, RecoveryJournal

log = logging.getLogger("greentui.store.writer")  # one logger name for the writer, whichever module logs

WriterState = Literal["saving", "waiting", "journal", "lost"]


@dataclass(frozen=True)
class WriterStatus:
    """What the writer is doing, for the headless printer and the TUI.

    ``state``: ``saving`` (all well), ``waiting`` (the database is locked; results are held and retried),
    ``journal`` (the database cannot be written; results go to ``journal_path``), ``lost`` (neither the database
    nor any journal folder takes them; they are only in memory). ``message`` is one line for the user ("" while
    saving from the start). ``unsaved_events``: events not in the database at the time of the report.
    """

    state: WriterState
    message: str = ""
    unsaved_events: int = 0
    journal_path: Path | None = None
    since_mono_s: float | None = None


class WriterThread:
    """The writer's state and its background thread (started by the constructor); see StoreWriter."""

    def __init__(
        self,
        connect: Callable[[], Database],
        path: Path,
        *,
        on_error: Callable[[StoreError], None] | None = None,
        on_status: Callable[[WriterStatus], None] | None = None,
        flush_interval_s: float = 1.0,
        max_batch: int = 20_000,
        retry_interval_s: float = 0.5,
        journal_after_s: float = 5.0,
        close_wait_s: float = 120.0,
        journal_dirs: Sequence[Path] | None = None,
    ) -> None:
        self._connect = connect
        self._path = path
        self._on_error = on_error
        self._on_status = on_status
        self._flush_interval_s = flush_interval_s
        self._max_batch = max_batch
        self._retry_interval_s = retry_interval_s
        self._journal_after_s = journal_after_s
        self.close_wait_s = close_wait_s
        self._journal_dirs = journal_dirs
        self._cond = threading.Condition()
        self._queue: list[Event] = []
        self._received = 0  # events accepted by handle()
        self._settled = 0  # of those, events committed, journaled or given up
        self._flush_target = 0  # flush() waits until _settled reaches this
        self._closing = False
        self._give_up_wait = False  # stop_waiting(): journal what a lock holds back, now
        self.error: StoreError | None = None
        self._status = WriterStatus("saving")
        self._dropped_closed = 0  # handled after close() (under the lock)
        self._dropped_unsaved = 0  # never written anywhere (writer thread only)
        self._session_id: str | None = None
        self._orphans: list[Event] = []
        self._context: dict[str, list[Event]] = {}  # per session: the opening events a journal starts with
        self._identity = process_identity()
        self._db: Database | None = None
        self._batch = Batch()
        self._journal: RecoveryJournal | None = None
        self._spilled = 0  # events at the head of the batch already in the journal (while waiting)
        self._next_try_mono_s = 0.0
        self._close_deadline_mono_s: float | None = None
        self._thread = threading.Thread(target=self._run, name="greentui-store-writer", daemon=True)
        self._thread.start()

    # ---- the writer thread: states and reports ------------------------------------------------------
    def _set_status(self, state: WriterState, message: str, *, since: float | None = None) -> None:
        journal = self._journal.path if self._journal is not None else None
        unsaved = self._batch.n_events + (self._journal.n_events if self._journal is not None else 0)
        self._status = WriterStatus(state, message, unsaved, journal, since)
        # on_status / on_error are the channel to the user; logging at warning level would print over a TUI
        log.info("store writer: %s %s", state, message)
        if self._on_status is not None:
            try:
                self._on_status(self._status)
            except Exception:  # a broken callback must not kill the writer thread
                log.debug("store writer on_status callback raised", exc_info=True)

    def _fail(self, error: StoreError) -> None:
        if self.error is not None:
            return
        self.error = error
        if self._on_error is not None:
            try:
                self._on_error(error)
            except Exception:
                log.debug("store writer on_error callback raised", exc_info=True)

    # ---- the writer thread: committing ------------------------------------------------------------------
    def _try_commit(self, batch: Batch) -> StoreError | None:
        if self._db is None:
            try:
                self._db = self._connect()
            except StoreError as error:
                return error
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            batch.execute(db.conn)
            db.execute("COMMIT")
            return None
        except Exception as exc:  # sqlite3 errors and anything else a bad event may raise
            try:
                db.rollback()
            except sqlite3.Error:
                pass
            batch.channel_ids.clear()  # rows inserted in the failed transaction are gone
            if isinstance(exc, sqlite3.Error):
                return translate(exc, self._path, "save the session")
            log.debug("store writer could not save a batch", exc_info=True)
            return StoreError(f"{self._path}: could not save the session ({exc})")

    def _commit(self, batch: Batch) -> None:
        if batch.n_events == 0:
            return
        if self._status.state in ("journal", "lost"):
            self._to_journal(batch)
            return
        now = time.monotonic()
        if self._status.state == "waiting" and now < self._next_try_mono_s:
            return
        error = self._try_commit(batch)
        if error is None:
            if self._status.state == "waiting":
                held = batch.n_events
                waited_s = now - (self._status.since_mono_s or now)
                if self._journal is not None:
                    self._journal.discard()  # the database has everything it held
                    self._journal = None
                self._spilled = 0
                batch.clear()
                self._set_status("saving", f"the database is free again: {held} events held {waited_s:.0f} s are saved")
                return
            batch.clear()
            return
        if isinstance(error, StoreBusyError):
            self._next_try_mono_s = time.monotonic() + self._retry_interval_s
            if self._status.state != "waiting":
                self._set_status(
                    "waiting",
                    f"waiting for the database: {self._path} is locked by another process; "
                    "finished results are held and saved once it is free",
                    since=now,
                )
            return
        self._enter_journal(batch, error)

    def _journal_records(self, batch: Batch) -> list[tuple[str, Event]]:
        """The batch's events not yet journaled, each new session's opening events first."""
        assert self._journal is not None
        fresh = batch.events[self._spilled :]
        records: list[tuple[str, Event]] = []
        present = {id(event) for _, event in fresh}
        for session_id, event in fresh:
            if not self._journal.has_session(session_id):
                self._journal.note_sessions([session_id])
                records.extend((session_id, e) for e in self._context.get(session_id, []) if id(e) not in present)
            records.append((session_id, event))
        return records

    def _new_journal(self, reason: str) -> RecoveryJournal:
        if self._journal is None:
            self._journal = RecoveryJournal(self._path, self._identity, reason, dirs=self._journal_dirs)
        return self._journal

    def _to_journal(self, batch: Batch) -> None:
        """Permanent mode: the batch goes to the journal (kept in memory if no place takes it)."""
        journal = self._new_journal("the database could not be written")
        records = self._journal_records(batch)
        batch.clear()
        self._spilled = 0
        try:
            journal.append(records)
        except JournalError as exc:
            if self._status.state != "lost":
                self._set_status("lost", f"{exc}: {journal.n_events} events are only in memory")
            return
        if self._status.state == "lost":
            self._set_status("journal", f"the results not saved are now in {journal.path}")

    def _spill(self, batch: Batch) -> None:
        """While waiting: copy what the batch holds to a journal, so a killed process loses nothing."""
        if len(batch.events) <= self._spilled:
            return
        journal = self._new_journal("waiting for a locked database")
        records = self._journal_records(batch)
        self._spilled = len(batch.events)  # in the journal now, or in its memory for its next append to write
        try:
            journal.append(records)
        except JournalError:
            log.debug("store writer could not spill to a journal while waiting", exc_info=True)

    def _enter_journal(self, batch: Batch, error: StoreError) -> None:
        """A write that cannot succeed: from now on, every event goes to the recovery journal."""
        journal = self._new_journal(str(error))
        self._status = WriterStatus("journal", str(error), since_mono_s=time.monotonic())
        self._to_journal(batch)
        if journal.path is not None:
            message = f"{error}; the results not saved are in {journal.path} (greentui recover {journal.path})"
            self._set_status("journal", message, since=time.monotonic())
        else:
            message = f"{error}; {self._status.message}"
        self._fail(type(error)(message))

    # ---- the writer thread: the loop -------------------------------------------------------------------
    def _route(self, event: Event, batch: Batch) -> None:
        identity = self._identity
        if isinstance(event, SessionStarted):
            self._session_id = event.session_id
            self._context[event.session_id] = [event]
            batch.add(event.session_id, event, identity)
            orphans, self._orphans = self._orphans, []
            for orphan in orphans:
                self._route(orphan, batch)
        elif self._session_id is None:
            if len(self._orphans) < MAX_ORPHANS:
                self._orphans.append(event)
            else:
                self._dropped_unsaved += 1
        else:
            if isinstance(event, (ModelLoaded, IdleMeasured)):
                self._context.setdefault(self._session_id, []).append(event)
            batch.add(self._session_id, event, identity)

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug must not leave flush() and close() waiting on a dead thread
            log.debug("store writer thread failed", exc_info=True)
            try:
                self._enter_journal(self._batch, StoreError(f"{self._path}: the store writer stopped ({exc})"))
            except Exception:
                log.debug("store writer could not journal after a failure", exc_info=True)
        finally:
            with self._cond:
                self._dropped_unsaved += len(self._orphans) + len(self._queue) + self._batch.n_events
                if self._journal is not None and self._journal.path is None:
                    self._dropped_unsaved += self._journal.n_events  # nowhere took them
                self._settled = self._received
                self._cond.notify_all()
            if self._db is not None:
                self._db.close()

    def _wake_at(self, batch: Batch, now: float) -> float | None:
        """When the loop must look again without a new event (None: only when woken)."""
        if self._status.state == "waiting" and batch.n_events:
            times = [self._next_try_mono_s]
            spill_at = (self._status.since_mono_s or now) + self._journal_after_s
            if now < spill_at:
                times.append(spill_at)
            if self._close_deadline_mono_s is not None:
                times.append(self._close_deadline_mono_s)
            return min(times)
        if self._closing or self._flush_target > self._settled:
            return now
        if batch.first_mono_s is not None:
            return batch.first_mono_s + self._flush_interval_s
        return None

    def _take(self, batch: Batch) -> tuple[list[Event], bool, bool]:
        """Wait for work; returns the new events, whether the writer is closing, and whether to stop waiting."""
        with self._cond:
            while not self._queue and not (self._give_up_wait and self._status.state == "waiting"):
                now = time.monotonic()
                wake = self._wake_at(batch, now)
                if wake is None:
                    self._cond.wait()
                    continue
                if wake <= now:
                    break
                self._cond.wait(wake - now)
            events, self._queue = self._queue, []
            return events, self._closing, self._give_up_wait

    def _loop(self) -> None:
        batch = self._batch
        taken = 0  # events taken off the queue so far
        while True:
            events, closing, give_up = self._take(batch)
            if closing and self._close_deadline_mono_s is None:
                self._close_deadline_mono_s = time.monotonic() + self.close_wait_s
            for event in events:
                self._route(event, batch)
                if event.kind in FLUSH_KINDS or batch.n_events >= self._max_batch:
                    self._commit(batch)
            taken += len(events)
            with self._cond:
                flush_wanted = self._flush_target > self._settled
            due = batch.first_mono_s is not None and (time.monotonic() - batch.first_mono_s >= self._flush_interval_s)
            if closing or flush_wanted or due or self._status.state == "waiting":
                self._commit(batch)
            if self._status.state == "waiting" and batch.n_events:
                now = time.monotonic()
                since = self._status.since_mono_s or now
                deadline = self._close_deadline_mono_s
                if give_up or (deadline is not None and now >= deadline):
                    self._enter_journal(
                        batch, StoreBusyError(f"{self._path} stayed locked by another process ({now - since:.0f} s)")
                    )
                elif now - since >= self._journal_after_s:
                    self._spill(batch)
            with self._cond:
                # events held while waiting for a SessionStarted count as settled (no flush can write them);
                # events held while the database is locked do not
                self._settled = taken - batch.n_events
                self._cond.notify_all()
                if closing and not self._queue and batch.n_events == 0:
                    return
