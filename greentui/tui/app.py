"""greentui's Textual app: composes the screens; the work lives in screens/, widgets/ and the core.

:func:`make_app` is the factory the CLI and the tests share. Nothing here opens a database or reads settings at
import time: the CLI opens the store and hands it over.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

from textual.app import App
from textual.binding import Binding

from greentui.errors import one_line
from greentui.tui.feeds import Feed, SessionFeed

Start = Literal["setup", "live", "demo", "history"]


class GreentuiApp(App[int]):
    """Setup -> Live -> Verdict, and History; every action has a key shown in the footer."""

    CSS_PATH = "app.tcss"
    TITLE = "greentui"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (130, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]
    BINDINGS = [
        Binding("ctrl+q", "quit_app", "quit", priority=True),
        Binding("q", "quit_app", "quit", show=False),  # also q, where no text field has the focus
        Binding("f1,question_mark", "help", "help"),
    ]

    def __init__(
        self,
        *,
        store: Any | None,
        db_path: Path | None = None,
        start: Start = "setup",
        session_config: Any | None = None,
        feed: Feed | None = None,
        inline_workers: bool = False,
        notice: str | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.db_path = db_path
        self.start = start
        self.session_config = session_config
        self.start_feed = feed
        self.inline_workers = inline_workers
        self.notice = notice  # shown once the app is up (the demo: what it races, how long it expects to take)
        self._feeds: list[Feed] = []

    def on_mount(self) -> None:
        if self.notice:
            self.notify(self.notice, title="greentui demo", timeout=30)
        if self.start_feed is not None:
            self.show_live(self.start_feed)
        elif self.start == "history":
            self.action_history()
        else:
            from greentui.tui.screens.setup import SetupScreen

            self.push_screen(SetupScreen(initial=self.session_config))
            if self.start in ("live", "demo") and self.session_config is not None:
                self.start_session(self.session_config)

    def run(self, *args: Any, **kwargs: Any) -> int | None:
        # While it runs, Textual swaps sys.stderr for an object whose fileno() is -1. multiprocessing's resource
        # tracker, started by the first spawned model worker, hands sys.stderr.fileno() to its own child and then
        # fails with "bad value(s) in fds_to_keep". Started now, while stderr is the terminal, it is reused later.
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
        return super().run(*args, **kwargs)

    # ---- navigation used by several screens --------------------------------------------------------------
    def start_session(
        self, config: Any, *, session_id: str | None = None, skip_items: dict[str, set[str]] | None = None
    ) -> bool:
        """Prepare a session (errors become a notification) and open the live screen on it.

        ``session_id`` / ``skip_items``: resume that stored session, skipping the items it already finished.
        """
        from greentui.services import SessionRun

        if self.store is None:
            self.notify("no session store is open (see the error above): cannot run", severity="error")
            return False
        try:
            run = SessionRun(
                config,
                self.store,
                session_id=session_id,
                skip_items=skip_items,  # type: ignore[arg-type]
                inline_workers=self.inline_workers,
                on_store_error=self._store_error_from_thread,
            )
            run.prepare()
        except Exception as exc:  # SessionError and anything unexpected: one line, the app stays up
            self.notify(one_line(exc), title="cannot start the session", severity="error", timeout=15)
            return False
        self.show_live(SessionFeed(run))
        return True

    @property
    def live_session_ids(self) -> list[str]:
        """Sessions this app ran (not replays), for the line the CLI prints once the TUI closes."""
        return [feed.session_id for feed in self._feeds if getattr(feed, "live", False) and hasattr(feed, "session_id")]

    def show_live(self, feed: Feed) -> None:
        from greentui.tui.screens.live import LiveScreen

        self._feeds.append(feed)
        self.push_screen(LiveScreen(feed))

    def on_unmount(self) -> None:
        # The app is closing: every feed is asked to stop, so no session or replay thread outlives it (a session
        # ends after its item in flight and is saved as interrupted; the interpreter then exits).
        for feed in self._feeds:
            feed.request_stop()

    def _store_error_from_thread(self, error: Exception | str) -> None:
        """A store error reported by the writer or session thread (or, rarely, this one) becomes a notification."""
        message = str(error)
        if threading.get_ident() == self._thread_id:
            self.notify(message, title="store", severity="error", timeout=15)
        else:
            self.call_from_thread(self.notify, message, title="store", severity="error", timeout=15)

    def action_history(self) -> None:
        """Open the history screen (or go back to it when it is already on the stack)."""
        from greentui.tui.screens.history import HistoryScreen

        for index, screen in enumerate(self.screen_stack):
            if isinstance(screen, HistoryScreen):
                while len(self.screen_stack) > index + 1:
                    self.pop_screen()
                screen.reload()
                return
        self.push_screen(HistoryScreen())

    def action_help(self) -> None:
        from greentui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    def action_quit_app(self) -> None:
        """Quit; a running session is asked to stop first (its finished items are already saved)."""
        from greentui.tui.screens.live import LiveScreen

        for screen in self.screen_stack:
            if isinstance(screen, LiveScreen) and not screen.request_quit():
                return
        self.exit(0)


def make_app(
    *,
    store: Any | None,
    db_path: Path | None = None,
    start: Start = "setup",
    session_config: Any | None = None,
    feed: Feed | None = None,
    inline_workers: bool = False,
    notice: str | None = None,
) -> GreentuiApp:
    """The app as ``greentui`` runs it.

    ``store``: an open :class:`greentui.store.SessionStore` (None: history and runs are unavailable, said on
    screen). ``start``: "setup" (default), "live"/"demo" (runs ``session_config`` at once, the setup screen
    underneath), or "history". ``feed``: show this feed on the live screen instead (tests, replays).
    ``inline_workers``: run model backends in threads (fake models in tests). ``notice``: a notification
    shown at start (the demo's plan and expected duration).
    """
    return GreentuiApp(
        store=store,
        db_path=db_path,
        start=start,
        session_config=session_config,
        feed=feed,
        inline_workers=inline_workers,
        notice=notice,
    )
