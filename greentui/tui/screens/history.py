"""The history screen: every stored session; open, replay, compare, export, resume or delete one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from greentui.errors import one_line
from greentui.tui.messages import SessionOpened, SessionsCompared, post_result
from greentui.tui.replay import fold_session
from greentui.tui.widgets.key_footer import KeyFooter
from greentui.tui.widgets.sessions_table import SORTABLE, SWEEP_PREFIX, SessionsTable, summary_text

if TYPE_CHECKING:
    from greentui.store import SessionStore, SessionSummary

REPLAY_SPEED = 20.0  # a stored session replays 20 times faster than it ran
PAGE_ROWS = 60  # sessions read per query: more than a tall screen shows (each row costs ~2 ms to add); the next
# page loads as the cursor or the view nears the last loaded row


class HistoryScreen(Screen[None]):
    """A sortable, filterable table of sessions. Enter opens the verdict with the session's power chart.

    The store filters, sorts and pages (``list_sessions`` / ``count_sessions``): the screen holds the pages read so
    far (``summaries``, also ``shown``) and opens as fast with ten thousand sessions as with ten."""

    BINDINGS = [
        Binding("enter", "open", "open"),
        Binding("slash", "filter", "filter"),
        Binding("w", "sweep", "sweep"),
        Binding("s", "sort", "sort"),
        Binding("S", "reverse", "reverse", show=False),
        Binding("p", "replay", "replay"),
        Binding("c", "mark", "compare"),
        Binding("e", "export", "export"),
        Binding("r", "resume", "resume"),
        Binding("d", "delete", "delete"),
        Binding("n", "new", "new session"),
        Binding("g", "tradeoff", "trade-off chart"),
        Binding("escape", "leave_filter", "back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.summaries: list[SessionSummary] = []  # the pages loaded so far, in the table's order
        self.matching: int | None = 0  # sessions the filter keeps (all pages); None while a worker counts them
        self.more = False  # the last page read was full: there may be more
        self.total = 0  # sessions in the store
        self.sort_key = "date"
        self.reverse = True
        self.marked: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(" greentui ─ history", id="history-heading")
        yield Input(
            placeholder="filter: task, model, status, sweep:NAME or words of the verdict  (/ to focus, w: next sweep)",
            id="history-filter",
        )
        yield SessionsTable(id="sessions-table")
        yield Static(id="history-preview")
        yield Static(id="history-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.app.animation_level == "none":  # tests and screenshots: no blinking cursor
            self.query_one("#history-filter", Input).cursor_blink = False
        self.reload()
        self.query_one(SessionsTable).focus()

    @property
    def store(self) -> SessionStore | None:
        store: SessionStore | None = getattr(self.app, "store", None)  # GreentuiApp's, None in a bare App
        return store

    @property
    def shown(self) -> list[SessionSummary]:
        """The sessions in the table (the filter's pages loaded so far)."""
        return self.summaries

    def _page(self, offset: int) -> list[SessionSummary]:
        assert self.store is not None
        needle = self.query_one("#history-filter", Input).value
        return list(
            self.store.list_sessions(
                search=needle, order_by=self.sort_key, descending=self.reverse, limit=PAGE_ROWS, offset=offset
            )
        )

    def reload(self) -> None:
        """Read the first page again (after a run, a delete, a new filter or sort, or coming back here)."""
        self.summaries, self.matching, self.total, self.more = [], 0, 0, False
        if self.store is None:
            self._status("no session store is open")
        else:
            try:
                needle = self.query_one("#history-filter", Input).value
                self.total = self.store.count_sessions()
                self.summaries = self._page(0)
                self.more = len(self.summaries) == PAGE_ROWS
                self.marked = [m for m in self.marked if self.store.has_session(m)]
            except Exception as exc:  # a locked or damaged database: say it, keep the screen
                self.notify(one_line(exc), title="cannot read the sessions", severity="error", timeout=10)
            else:
                if not needle.strip() or not self.more:
                    self.matching = self.total if not needle.strip() else len(self.summaries)
                    self.more = len(self.summaries) < self.matching
                else:  # counting the matches reads every session (~0.1 s at 10,000): not while the user types
                    self.matching = None
                    self._count(needle)
        self.query_one(SessionsTable).show(
            self.summaries, sort_key=self.sort_key, reverse=self.reverse, marked=self.marked
        )
        self._show_status()
        if not self.summaries:
            self.query_one("#history-preview", Static).update(
                "no sessions yet: press n to set one up" if not self.total else "no session matches the filter"
            )

    def load_more(self) -> None:
        """Append the next page of the same filter and sort, if the table does not hold them all yet."""
        if self.store is None or not self.more:
            return
        try:
            page = self._page(len(self.summaries))
        except Exception as exc:
            self.notify(one_line(exc), title="cannot read more sessions", severity="error", timeout=10)
            return
        loaded = {s.id for s in self.summaries}
        fresh = [s for s in page if s.id not in loaded]  # a session stored meanwhile shifts the pages by one
        self.summaries = [*self.summaries, *fresh]
        self.more = len(page) == PAGE_ROWS and (self.matching is None or len(self.summaries) < self.matching)
        self.query_one(SessionsTable).append(fresh, marked=self.marked)
        self._show_status()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history-count", description="count")
    def _count(self, needle: str) -> None:
        """Count the sessions the search keeps, off the UI thread; the status line shows it when it is done."""
        assert self.store is not None
        found = self.store.count_sessions(search=needle)
        self.app.call_from_thread(self._counted, needle, found)

    def _counted(self, needle: str, found: int) -> None:
        if self.is_mounted and needle == self.query_one("#history-filter", Input).value:
            self.matching = found
            self.more = self.more and len(self.summaries) < found
            self._show_status()

    @on(SessionsTable.NearEnd)
    def _near_end(self, event: SessionsTable.NearEnd) -> None:
        if event.rows == len(self.summaries):  # not when the cursor already read the next page
            self.load_more()

    def _show_status(self) -> None:
        mark_note = f" · marked for comparison: {len(self.marked)}/2" if self.marked else ""
        matching = f"{len(self.summaries):,}+ (counting)" if self.matching is None else f"{self.matching:,}"
        loaded = f" ({len(self.summaries):,} loaded, more as you scroll)" if self.more else ""
        self._status(
            f"{matching} of {self.total:,} sessions{loaded} · sorted by {self.sort_key}"
            f"{' (descending)' if self.reverse else ''}{mark_note} · enter opens the verdict"
        )

    def _status(self, text: str) -> None:
        self.query_one("#history-status", Static).update(text)

    def _current(self) -> str | None:
        session_id = self.query_one(SessionsTable).current_id()
        if session_id is None:
            self.notify("no session selected", severity="warning", timeout=3)
        return session_id

    # ---- filter and sort ---------------------------------------------------------------------------------
    @on(Input.Changed, "#history-filter")
    def _filter_changed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#history-filter")
    def _filter_done(self) -> None:
        self.query_one(SessionsTable).focus()

    def action_filter(self) -> None:
        self.query_one("#history-filter", Input).focus()

    def action_sweep(self) -> None:
        """Show the sessions of the next sweep (by name), then of the one after, then every session again."""
        from greentui.store.sweeps import sweep_names

        names = sweep_names(self.store) if self.store is not None else []
        box = self.query_one("#history-filter", Input)
        if not names:
            self.notify("no session here belongs to a sweep (greentui sweep FILE runs one)", timeout=4)
            return
        current = next((w[len(SWEEP_PREFIX) :] for w in box.value.split() if w.startswith(SWEEP_PREFIX)), None)
        cycle = [*names, None]  # after the last sweep: every session again
        chosen = cycle[names.index(current) + 1 if current in names else 0]
        box.value = f"{SWEEP_PREFIX}{chosen}" if chosen else ""

    def action_leave_filter(self) -> None:
        if self.focused is self.query_one("#history-filter", Input):
            self.query_one(SessionsTable).focus()
        elif len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_sort(self) -> None:
        self.sort_key = SORTABLE[(SORTABLE.index(self.sort_key) + 1) % len(SORTABLE)]
        self.reload()

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self.reload()

    @on(DataTable.RowHighlighted)
    def _preview(self, event: DataTable.RowHighlighted) -> None:
        summary = next((s for s in self.summaries if s.id == event.row_key.value), None)
        self.query_one("#history-preview", Static).update(summary_text(summary) if summary else "")
        if event.cursor_row >= len(self.summaries) - 10:  # the cursor nears the last loaded row
            self.load_more()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key in SORTABLE:
            self.reverse = not self.reverse if key == self.sort_key else False
            self.sort_key = key
            self.reload()

    # ---- open, replay, compare -----------------------------------------------------------------------------
    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        session_id = self._current()
        if session_id is not None:
            self.open_session(session_id)

    # One exclusive group: a newer open or compare replaces one still reading (its result is never shown).
    @work(thread=True, exclusive=True, exit_on_error=False, group="history-fold", description="open a session")
    def open_session(self, session_id: str) -> None:
        """Replay a session from the store off the UI thread; :meth:`_opened` shows it."""
        post_result(
            self, lambda: SessionOpened(fold_session(self.store, session_id)), failure="cannot open the session"
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="history-fold", description="compare sessions")
    def compare(self, left_id: str, right_id: str) -> None:
        """Replay two sessions and compare them off the UI thread (the bootstrap takes a moment on long ones)."""
        from greentui.tui.comparison import compare_sessions

        def compared() -> SessionsCompared:
            left, right = fold_session(self.store, left_id), fold_session(self.store, right_id)
            return SessionsCompared(compare_sessions(left, right))

        post_result(self, compared, failure="cannot compare the sessions")

    @on(SessionsCompared)
    def _compared(self, message: SessionsCompared) -> None:
        from greentui.tui.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(message.comparison))

    @on(SessionOpened)
    def _opened(self, message: SessionOpened) -> None:
        session = message.session
        if session.verdict is None:
            self.notify("this session has no finished item on either side: no verdict; replaying it instead", timeout=5)
            self.action_replay()
            return
        from greentui.tui.screens.verdict import VerdictScreen

        self.app.push_screen(
            VerdictScreen(session.verdict, session.tally, session.trace, status=session.status or None)
        )

    def action_replay(self) -> None:
        """Play the session again through the live screen's widgets, 20 times faster than it ran."""
        from greentui.tui.feeds import ReplayFeed

        session_id, store = self._current(), self.store
        if session_id is None or store is None:
            return
        self.app.show_live(  # type: ignore[attr-defined]  # GreentuiApp's; screens are typed against App
            ReplayFeed(lambda: store.replay(session_id), speed=REPLAY_SPEED, session_id=session_id)
        )

    def action_mark(self) -> None:
        """Mark (or unmark) the session for comparison; the second mark opens both side by side."""
        session_id = self._current()
        if session_id is None:
            return
        table = self.query_one(SessionsTable)
        if session_id in self.marked:
            self.marked.remove(session_id)
        else:
            self.marked.append(session_id)
        table.set_marked(session_id, session_id in self.marked)
        if len(self.marked) == 2:
            (left_id, right_id), self.marked = self.marked, []
            for marked in (left_id, right_id):
                table.set_marked(marked, False)
            self.compare(left_id, right_id)
        self._show_status()

    # ---- export, resume, delete, new ---------------------------------------------------------------------
    def action_export(self) -> None:
        from greentui.tui.screens.export import ExportScreen

        session_id = self._current()
        if session_id is not None:
            self.app.push_screen(ExportScreen(session_id))

    def action_resume(self) -> None:
        """Run the items an interrupted session has not finished, into the same session."""
        session_id = self._current()
        if session_id is None or self.store is None:
            return
        summary = next((s for s in self.summaries if s.id == session_id), None)
        if summary is not None and summary.status not in ("interrupted", "failed"):
            self.notify(
                f"only an interrupted or failed session can be resumed; this one is {summary.status}",
                severity="warning",
                timeout=5,
            )
            return
        from greentui.services import resume_config

        try:
            full_id, config, done = resume_config(self.store, session_id)
        except Exception as exc:
            self.notify(one_line(exc), title="cannot resume", severity="error", timeout=10)
            return
        self.app.start_session(config, session_id=full_id, skip_items=done)  # type: ignore[attr-defined]  # GreentuiApp's method

    def action_delete(self) -> None:
        from greentui.tui.screens.confirm import ConfirmScreen

        session_id = self._current()
        if session_id is None:
            return
        summary = next((s for s in self.summaries if s.id == session_id), None)
        what = f"{summary.task_id}, {summary.model_a} vs {summary.model_b}" if summary else ""

        def deleted(confirmed: bool | None) -> None:
            if not confirmed or self.store is None:
                return
            try:
                self.store.delete(session_id)
            except Exception as exc:
                self.notify(one_line(exc), title="not deleted", severity="error", timeout=10)
                return
            self.notify(f"deleted session {session_id}", timeout=4)
            self.reload()

        self.app.push_screen(
            ConfirmScreen(f"Delete session {session_id} ({what})? This cannot be undone.", yes="delete"), deleted
        )

    def action_tradeoff(self) -> None:
        """Score against energy for every stored run of the highlighted session's task (the sweep filtered by, if
        any, drawn together)."""
        from greentui.tui.screens.tradeoff import TradeoffScreen

        session_id = self._current()
        summary = next((s for s in self.summaries if s.id == session_id), None)
        if summary is None or self.store is None:
            return
        words = self.query_one("#history-filter", Input).value.split()
        sweep = next((w[len(SWEEP_PREFIX) :] for w in words if w.startswith(SWEEP_PREFIX)), None)
        self.app.push_screen(TradeoffScreen(summary.task_id, current_session=summary.id, sweep=sweep))

    def action_new(self) -> None:
        from greentui.tui.screens.setup import SetupScreen

        if isinstance(self.app.screen_stack[1] if len(self.app.screen_stack) > 1 else None, SetupScreen):
            while len(self.app.screen_stack) > 2:
                self.app.pop_screen()
        else:
            self.app.push_screen(SetupScreen())
