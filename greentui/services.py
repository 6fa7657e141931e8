"""Glue shared by the CLI and the TUI: run a session into the store, then save its verdict.

``core`` knows nothing of the store and the store nothing of the engine; this module is where the two meet, so
``greentui run``, ``greentui resume`` and the live screen drive a session the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greentui.core.records import Event, SessionStarted, SessionStatus, Side
from greentui.core.run.session import Session, SessionConfig, SessionError
from greentui.core.run.tally import Tally, verdict_from_tally
from greentui.store.errors import StoreError


@dataclass(frozen=True)
class SessionOutcome:
    session_id: str
    status: SessionStatus
    reason: str
    verdict: Any | None  # core.verdict.Verdict, or None when neither side finished an item
    store_errors: tuple[str, ...] = ()


class SessionRun:
    """A session wired to a store writer and a tally. Subscribe more handlers, then call :meth:`run`."""

    def __init__(
        self,
        config: SessionConfig,
        store: Any,  # store.SessionStore
        *,
        session_id: str | None = None,
        skip_items: dict[Side, set[str]] | None = None,
        inline_workers: bool = False,
        on_store_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.store = store
        # A resumed session's finished items: its stopping rule and its verdict start from them (items run in a
        # seeded order are a sample only as a whole; the pairs already done count).
        self._prior: list[Any] = []
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
        self._writer = store.writer(on_error=self._store_error)
        self.session.subscribe(self._writer.handle)
        self.session.subscribe(self._fold)

    @property
    def session_id(self) -> str:
        return self.session.session_id

    def _store_error(self, error: Exception) -> None:
        """The store writer's one report of a failure (disk full, read-only file...); finished items stay saved."""
        self._store_errors.append(str(error))
        if self._on_store_error is not None:
            self._on_store_error(error)

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
        try:
            status = self.session.run()
        finally:
            self._writer.close()
        verdict = None
        if any(lane.items for lane in self.tally.sides.values()):
            verdict = verdict_from_tally(self.tally)
            try:
                self.store.save_verdict(self.session_id, verdict.to_dict(), verdict.sentence)
            except StoreError as exc:  # one line from the store; the verdict is still shown
                self._store_error(exc)
        reason = self.tally.finished.reason if self.tally.finished else ""
        return SessionOutcome(self.session_id, status, reason, verdict, tuple(self._store_errors))


def open_store(db_path: Path | None = None, *, readonly: bool = False) -> Any:
    """Open the session store at ``db_path`` (default: ``GREENTUI_DB`` or the user data dir)."""
    from greentui import paths
    from greentui.store import SessionStore

    return SessionStore(db_path or paths.db_path(), readonly=readonly)


def resume_config(store: Any, session_id: str) -> tuple[str, SessionConfig, dict[Side, set[str]]]:
    """The full id, the stored configuration and the finished items of an interrupted session."""
    info = store.resume_info(session_id)
    config = SessionConfig.from_dict(info.settings)
    return info.session_id, config, {side: set(keys) for side, keys in info.done.items()}


__all__ = ["SessionError", "SessionOutcome", "SessionRun", "open_store", "resume_config"]
