"""greentui's Textual app: composes the screens; the work lives in screens/, widgets/ and the core.

:func:`make_app` is the factory the CLI and the tests share. Nothing here opens a database or reads settings at
import time: the CLI opens the store and hands it over.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from textual import on
from textual.app import App
from textual.binding import Binding

from greentui.errors import one_line
from greentui.tui.feeds import Feed, SessionFeed
from greentui.tui.messages import WorkFailed

if TYPE_CHECKING:
    from greentui.core.config import SessionConfig
    from greentui.core.records import Side
    from greentui.store import SessionStore, WriterStatus

Start = Literal["setup", "live", "demo", "history"]
SIGNAL_EXIT_GRACE_S = 5.0  # after SIGTERM / SIGHUP, the longest an exit may take once the sessions have ended


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
        store: SessionStore | None,
        db_path: Path | None = None,
        start: Start = "setup",
        session_config: SessionConfig | None = None,
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
        self._exit_watchdog_started = False

    def on_mount(self) -> None:
        self._watch_stop_signals()
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

    # ---- SIGTERM / SIGHUP: stop every running session like Ctrl-C, then exit with 128 + the signal ---------------
    def _watch_stop_signals(self) -> None:
        from greentui import signals

        if signals.received() is not None:  # it came while the app was starting: nothing has run yet
            self.exit(return_code=signals.exit_code(1))
            return
        signals.add_target(self._heard_stop_signal)

    def _heard_stop_signal(self, reason: str, hurry: bool) -> None:
        """From greentui.signals' dispatch thread (the running sessions are told by their own targets)."""
        if threading.get_ident() == self._thread_id:
            self._leave_after_signal()
            return
        try:
            self.call_from_thread(self._leave_after_signal)
        except RuntimeError:  # the app is already closing
            pass

    def stop_for_signal(self, signum: int) -> None:
        """What SIGTERM / SIGHUP do (greentui.signals calls back here): the running sessions stop now, their
        finished items kept, and the app exits once they have ended."""
        from greentui import signals

        signals.deliver(signum)

    def _leave_after_signal(self) -> None:
        from greentui import signals
        from greentui.tui.screens.live import LiveScreen

        waiting = False
        for screen in self.screen_stack:
            if isinstance(screen, LiveScreen) and not screen.feed_done:
                screen.quit_when_done()
                if not screen.feed.live:  # a replay; a session was told by its own target, with the reason
                    screen.feed.request_stop()
                waiting = True
        if not waiting:
            self.exit(return_code=signals.exit_code(1))

    def exit(self, result: int | None = None, return_code: int = 0, message: Any | None = None) -> None:
        """Exit; after SIGTERM / SIGHUP, also make sure the process ends: on a hung-up terminal (SIGHUP) Textual's
        output thread dies and its shutdown can wait forever. The sessions have ended by now (their results are
        saved or journaled), so nothing is lost by ending the process after a grace period."""
        from greentui import signals

        first = signals.received()
        if first is not None and signals.installed() and not self._exit_watchdog_started:
            self._exit_watchdog_started = True
            code = 128 + first

            def watchdog() -> None:
                time.sleep(SIGNAL_EXIT_GRACE_S)
                os._exit(code)

            threading.Thread(target=watchdog, name="greentui-exit-watchdog", daemon=True).start()
        super().exit(result, return_code, message)

    def session_report(self) -> tuple[list[str], bool]:
        """Lines for the terminal once the TUI is gone (where each session's results are), and whether any
        session left results outside the database (the exit status is then 1)."""
        from greentui.text.printer import saved_line

        lines: list[str] = []
        unsaved = False
        for feed in self._feeds:
            if not getattr(feed, "live", False) or not hasattr(feed, "session_id"):
                continue
            outcome = getattr(feed, "outcome", None)
            if outcome is None:
                lines.append(f"session {feed.session_id} saved in {self.db_path}   (greentui show {feed.session_id})")
                continue
            unsaved = unsaved or outcome.unsaved
            lines.append(f"session {feed.session_id} {outcome.status}: " + saved_line(outcome, Path(str(self.db_path))))
        return lines, unsaved

    def run(self, *args: Any, **kwargs: Any) -> int | None:
        # While it runs, Textual swaps sys.stderr for an object whose fileno() is -1. multiprocessing's resource
        # tracker, started by the first spawned model worker, hands sys.stderr.fileno() to its own child and then
        # fails with "bad value(s) in fds_to_keep". Started now, while stderr is the terminal, it is reused later.
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
        return super().run(*args, **kwargs)

    # ---- navigation used by several screens --------------------------------------------------------------
    def start_session(
        self,
        config: SessionConfig,
        *,
        session_id: str | None = None,
        skip_items: dict[Side, set[str]] | None = None,
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
                skip_items=skip_items,
                inline_workers=self.inline_workers,
                on_store_error=self._store_error_from_thread,
                on_store_status=self._store_status_from_thread,
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
        from greentui import signals

        signals.remove_target(self._heard_stop_signal)
        for feed in self._feeds:
            feed.request_stop()

    def _store_error_from_thread(self, error: Exception | str) -> None:
        """A store error reported by the writer or session thread (or, rarely, this one) becomes a notification."""
        message = str(error)
        if threading.get_ident() == self._thread_id:
            self.notify(message, title="store", severity="error", timeout=15)
        else:
            self.call_from_thread(self.notify, message, title="store", severity="error", timeout=15)

    def _store_status_from_thread(self, status: WriterStatus) -> None:
        """Waiting for a locked database, and saving again, become notifications (the live screen's state says
        "waiting for the database" meanwhile); a write that cannot succeed comes as a store error."""
        if status.state == "waiting" or (status.state == "saving" and status.message):
            severity: Literal["warning", "information"] = "warning" if status.state == "waiting" else "information"
            if threading.get_ident() == self._thread_id:
                self.notify(status.message, title="store", severity=severity, timeout=10)
            else:
                self.call_from_thread(self.notify, status.message, title="store", severity=severity, timeout=10)

    @on(WorkFailed)
    def _work_failed(self, message: WorkFailed) -> None:
        """The one place where work done off the UI thread reports failing: one visible line, the app stays up."""
        self.notify(message.line, title=message.title, severity="error", timeout=message.timeout_s)

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

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Save an SVG of the screen (the command palette's "Screenshot"), by default in greentui's data folder,
        created when missing (Textual's default, ~/Downloads, may not exist); Textual's notification then names
        the file."""
        if path is None:
            from greentui import paths

            folder = paths.screenshots_dir()
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self.notify(f"cannot create {folder}: {exc.strerror}", title="Screenshot", severity="error")
                return None
            path = str(folder)
        return super().deliver_screenshot(filename, path, time_format)

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
    store: SessionStore | None,
    db_path: Path | None = None,
    start: Start = "setup",
    session_config: SessionConfig | None = None,
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
