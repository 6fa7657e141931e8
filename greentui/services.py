"""Glue shared by the CLI and the TUI: run a session into the store, then save its verdict.

``core`` knows nothing of the store and the store nothing of the engine; this module is where the two meet, so
``greentui run``, ``greentui resume`` and the live screen drive a session the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from greentui import signals
from greentui.core.records import Event, ItemScored, SessionStarted, SessionStatus, Side
from greentui.core.run.judge import verdict_from_tally
from greentui.core.run.session import Session, SessionConfig, SessionError
from greentui.core.run.tally import Tally
from greentui.core.verdict.compute import Verdict
from greentui.store.errors import StoreError

if TYPE_CHECKING:  # the store package is imported when a store is opened
    from greentui.store import RecoveryReport, SessionStore, WriterStatus

SIGNAL_CLOSE_WAIT_S = 10.0  # after SIGTERM/SIGHUP, how long a locked database is waited for before journaling


@dataclass(frozen=True)
class SessionOutcome:
    session_id: str
    status: SessionStatus
    reason: str
    verdict: Verdict | None  # computed once, as the session ended; None when neither side finished an item
    store_errors: tuple[str, ...] = ()
    # results the database did not take: in this recovery journal (``greentui recover``), or only in memory when
    # ``unsaved`` is True and ``journal`` is None. Never report such a session as simply completed.
    journal: str | None = None
    unsaved: bool = False


class SessionRun:
    """A session wired to a store writer and its one tally. Subscribe more handlers, then call :meth:`run`.

    :attr:`tally` is fed on the session (and sampler) thread before any later subscriber hears of an event; the
    headless printer and the live screen read it (the live screen under its lock) and never fold events again, and
    :meth:`run` computes the session's verdict from it once.
    """

    def __init__(
        self,
        config: SessionConfig,
        store: SessionStore,
        *,
        session_id: str | None = None,
        skip_items: dict[Side, set[str]] | None = None,
        inline_workers: bool = False,
        on_store_error: Callable[[Exception], None] | None = None,
        on_store_status: Callable[[WriterStatus], None] | None = None,
    ) -> None:
        self.store = store
        # A resumed session's finished items: its stopping rule and its verdict start from them (items run in a
        # seeded order are a sample only as a whole; the pairs already done count).
        self._prior: list[ItemScored] = []
        if session_id and skip_items and any(skip_items.values()):
            try:
                self._prior = store.items(session_id)
            except StoreError:  # a store that has never seen the session (a sweep's remote worker): start afresh
                self._prior = []
        self.session = Session(
            config,
            session_id=session_id,
            skip_items=skip_items,
            inline_workers=inline_workers,
            prior_items=self._prior,
        )
        self.tally = Tally()
        self._store_errors: list[str] = []
        self._on_store_error = on_store_error
        self._on_store_status = on_store_status
        self._writer = store.writer(on_error=self._store_error, on_status=self._store_status)
        self.session.subscribe(self._writer.handle)
        self.session.subscribe(self._fold)

    @property
    def session_id(self) -> str:
        return self.session.session_id

    @property
    def store_status(self) -> WriterStatus:
        """The store writer's :class:`~greentui.store.WriterStatus` (``waiting`` while the database is locked)."""
        return self._writer.status

    def _store_error(self, error: Exception) -> None:
        """The store writer's one report of a write that cannot succeed (disk full, read-only, damaged file): the
        results not saved are in a recovery journal, and the session stops after its item in flight."""
        self._store_errors.append(str(error))
        journal = self._writer.journal_path
        where = "results kept in a recovery journal" if journal else "results kept in memory only"
        self.session.request_stop(f"stopped: {_store_problem(error)} ({where})")
        if self._on_store_error is not None:
            self._on_store_error(error)

    def _store_status(self, status: WriterStatus) -> None:
        if self._on_store_status is not None:
            self._on_store_status(status)

    def _stop_for_signal(self, reason: str, hurry: bool) -> None:
        """SIGTERM / SIGHUP (greentui.signals): stop now, like Ctrl-C; wait for a locked database only briefly."""
        self._writer.close_wait_s = min(self._writer.close_wait_s, SIGNAL_CLOSE_WAIT_S)
        if hurry or self.session.status is not None:  # asked twice, or the session already ended
            self._writer.stop_waiting()
        self.session.request_stop(reason, now=True)

    def _close_writer(self) -> None:
        try:
            self._writer.close()
        except KeyboardInterrupt:  # Ctrl-C while a locked database is waited for: journal what it holds
            self._writer.stop_waiting()
            self._writer.close()

    def subscribe(self, handler: Callable[[Event], None]) -> None:
        self.session.subscribe(handler)

    def _fold(self, event: Event) -> None:
        """Into the tally, with a resumed session's finished items right after its start."""
        self.tally.apply(event)
        if isinstance(event, SessionStarted):
            for item in sorted(self._prior, key=lambda done: (done.index, done.side)):
                self.tally.apply(item)

    def prepare(self) -> None:
        """Check the configuration (raises SessionError with one line) before anything is written."""
        self.session.prepare()

    def close(self) -> None:
        """Release the store writer of a session that will not run (after :meth:`prepare` refused it)."""
        self._writer.close()

    def run(self) -> SessionOutcome:
        """Run the session to its end; SIGTERM and SIGHUP stop it as Ctrl-C does (see greentui.signals)."""
        first = signals.received()
        if first is not None:  # a stop signal came before the session started: start nothing
            self._writer.close()
            raise KeyboardInterrupt(signals.reason_for(first))
        with signals.watching(self._stop_for_signal):
            try:
                status = self.session.run()
            finally:
                self._close_writer()
        writer = self._writer
        unsaved = writer.status.state in ("journal", "lost") or writer.dropped_events > 0
        verdict = None
        if any(lane.items for lane in self.tally.sides.values()):
            verdict = verdict_from_tally(self.tally)
            if not unsaved:  # else the session row is not all there: `greentui recover` saves the verdict
                try:
                    self.store.save_verdict(self.session_id, verdict.to_dict(), verdict.sentence)
                except StoreError as exc:  # one line from the store; the verdict is still shown
                    self._store_errors.append(str(exc))
                    if self._on_store_error is not None:
                        self._on_store_error(exc)
        reason = self.tally.finished.reason if self.tally.finished else ""
        journal = str(writer.journal_path) if writer.journal_path is not None else None
        return SessionOutcome(
            self.session_id, status, reason, verdict, tuple(self._store_errors), journal=journal, unsaved=unsaved
        )


def open_store(db_path: Path | None = None, *, readonly: bool = False) -> SessionStore:
    """Open the session store at ``db_path`` (default: ``GREENTUI_DB`` or the user data dir)."""
    from greentui import paths
    from greentui.store import SessionStore

    return SessionStore(db_path or paths.db_path(), readonly=readonly)


def recover(store: SessionStore, path: Path) -> RecoveryReport:
    """Bring a recovery journal into ``store`` (store.recover_journal) and save the verdict of every session it
    added items to; returns the :class:`~greentui.store.RecoveryReport`."""
    from greentui.store import recover_journal

    report = recover_journal(store, path)
    for recovered in report.sessions:
        if recovered.items_added and recovered.status != "running":
            tally = Tally()
            for event in store.replay(recovered.session_id):
                tally.apply(event)
            if any(lane.items for lane in tally.sides.values()):
                verdict = verdict_from_tally(tally)
                store.save_verdict(recovered.session_id, verdict.to_dict(), verdict.sentence)
    return report


def _store_problem(error: Exception) -> str:
    """A store error in a few words, for the session's status reason."""
    from greentui.store import StoreBusyError, StoreCorruptError, StoreFullError, StoreReadOnlyError

    if isinstance(error, StoreFullError):
        return "the disk is full"
    if isinstance(error, StoreReadOnlyError):
        return "the database is read-only"
    if isinstance(error, StoreCorruptError):
        return "the database is damaged"
    if isinstance(error, StoreBusyError):
        return "the database stayed locked by another process"
    return "the database could not be written"


def resume_config(store: SessionStore, session_id: str) -> tuple[str, SessionConfig, dict[Side, set[str]]]:
    """The full id, the stored configuration and the finished items of an interrupted session."""
    info = store.resume_info(session_id)
    config = SessionConfig.from_stored(info.settings)
    return info.session_id, config, {side: set(keys) for side, keys in info.done.items()}


__all__ = ["SessionError", "SessionOutcome", "SessionRun", "open_store", "recover", "resume_config"]
