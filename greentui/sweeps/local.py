"""The local executor: the sweep's sessions one after another in this process, written straight into the store,
exactly as ``greentui run`` writes one (the same :class:`~greentui.services.SessionRun`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from greentui.core.records import Event
from greentui.services import SessionError, SessionRun
from greentui.store.db import SessionStore
from greentui.sweeps.driver import SessionResult, Step


class LocalExecutor:
    """One session at a time on this machine. ``inline_workers`` runs fake models in threads (tests).

    A session that ends ``interrupted`` here was stopped by the user (Ctrl-C, SIGTERM): the sweep stops with it.
    """

    name = "local"

    def __init__(
        self,
        store: SessionStore,
        *,
        inline_workers: bool = False,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.store = store
        self.inline_workers = inline_workers
        self.on_event = on_event
        self.stopped = False

    def run(self, steps: Sequence[Step], on_result: Callable[[SessionResult], None]) -> None:
        for step in steps:
            started = time.monotonic()
            run = SessionRun(
                step.planned.config,
                self.store,
                session_id=step.session_id,
                skip_items=step.done or None,
                inline_workers=self.inline_workers,
            )
            try:
                run.prepare()
            except SessionError as exc:
                run.close()
                on_result(SessionResult(step, None, "not started", str(exc), where="this machine"))
                continue
            if self.on_event is not None:
                run.subscribe(self.on_event)
            try:
                outcome = run.run()
            except SessionError as exc:  # found once the session starts (a power source that cannot work here)
                on_result(
                    SessionResult(step, None, "not started", str(exc), time.monotonic() - started, "this machine")
                )
                continue
            on_result(
                SessionResult(
                    step,
                    outcome.session_id,
                    outcome.status,
                    outcome.reason,
                    time.monotonic() - started,
                    "this machine",
                    outcome.store_errors,
                )
            )
            if outcome.unsaved:  # the database cannot be written: no later session could be saved either
                return
            if outcome.status == "interrupted":
                self.stopped = True
                return

    def close(self) -> None:
        """Nothing to release: every session closed its own writer."""
