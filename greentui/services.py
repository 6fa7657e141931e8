"""Glue shared by the CLI and the TUI: run a session into the store, then save its verdict.

``core`` knows nothing of the store and the store nothing of the engine; this module is where the two meet, so
``greentui run``, ``greentui resume`` and the live screen drive a session the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greentui.core.records import Event, SessionStatus, Side
from greentui.core.run.session import Session, SessionConfig, SessionError
from greentui.core.run.tally import Tally, verdict_from_tally
from greentui.core.verdict.compute import Verdict
from greentui.store.errors import StoreError


@dataclass(frozen=True)
class SessionOutcome:
    session_id: str
    status: SessionStatus
    reason: str
    verdict: Verdict | None  # computed once, as the session ended; None when neither side finished an item
    store_errors: tuple[str, ...] = ()


class SessionRun:
    """A session wired to a store writer and its one tally. Subscribe more handlers, then call :meth:`run`.

    :attr:`tally` is fed on the session (and sampler) thread before any later subscriber hears of an event; the
    headless printer and the live screen read it (the live screen under its lock) and never fold events again, and
    :meth:`run` computes the session's verdict from it once.
    """

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
        self.session = Session(config, session_id=session_id, skip_items=skip_items, inline_workers=inline_workers)
        self.tally = Tally()
        self._store_errors: list[str] = []
        self._on_store_error = on_store_error
        if skip_items and any(skip_items.values()):
            self._seed_tally(session_id or self.session.session_id)
        self._writer = store.writer(on_error=self._store_error)
        self.session.subscribe(self._writer.handle)
        self.session.subscribe(self.tally.apply)

    def _seed_tally(self, session_id: str) -> None:
        """A resumed session's tally starts from what was stored: the earlier items count in the live figures and
        in the verdict (the resumed run only emits the items it runs now)."""
        from greentui.core.records import PowerSampled, SessionFinished

        for event in self.store.replay(session_id):
            if not isinstance(event, (PowerSampled, SessionFinished)):
                self.tally.apply(event)

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
