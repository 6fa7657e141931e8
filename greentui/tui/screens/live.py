"""The live screen: two lanes racing on the same items, the power chart, progress; also replays stored sessions.

The feed folds every event into its one tally (for a running session, the :class:`SessionRun`'s, which the CLI
prints from and the verdict is computed from). Events also reach the screen through the :class:`EventBridge`: the
feed's thread appends, a timer here drains the buffer at most ``APPLY_HZ`` times a second, folds the batch into
the :class:`PowerTrace` (the chart's data), and redraws once from a frozen :class:`LiveView` of the tally.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen

from greentui.core.records import Event, RunFailed, SessionFinished, SessionStarted
from greentui.core.run.judge import verdict_from_tally
from greentui.core.run.tally import Tally
from greentui.core.verdict.compute import Verdict
from greentui.errors import one_line
from greentui.tui.bridge import APPLY_HZ, EventBridge
from greentui.tui.feeds import Feed, FeedEnd, event_time
from greentui.tui.messages import FeedEnded, VerdictComputed, WorkFailed, post_result
from greentui.tui.power_trace import PowerTrace
from greentui.tui.views import LiveView, live_view
from greentui.tui.widgets.key_footer import KeyFooter
from greentui.tui.widgets.lane_panel import LanePanel
from greentui.tui.widgets.power_chart import PowerChart
from greentui.tui.widgets.race_progress import RaceProgress
from greentui.tui.widgets.session_header import SessionHeader
from greentui.tui.widgets.stopping_status import StoppingStatus

CHART_WINDOWS_S: tuple[float | None, ...] = (60.0, None)  # the chart's span: the last minute, or everything


class LiveScreen(Screen[None]):
    """Shows one session as it happens (a :class:`SessionFeed`) or again (a :class:`ReplayFeed`)."""

    BINDINGS = [
        Binding("space", "toggle_pause", "pause/resume"),
        Binding("s", "stop", "stop (keeps results)"),
        Binding("v", "verdict", "verdict so far"),
        Binding("c", "chart_span", "chart span"),
        Binding("h", "app.history", "history"),
        Binding("escape", "back", "back", show=False),
    ]

    def __init__(self, feed: Feed, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.feed = feed
        self.bridge = EventBridge()
        self.trace = PowerTrace()
        self.view: LiveView | None = None  # the frame drawn last
        self.clock_mono_s: float | None = None  # the newest event's time: the session's own "now"
        self.paused = False
        self.stopping = False
        self.feed_done = False
        self.feed_end: FeedEnd | None = None  # how the feed ended (a live session's one verdict with it)
        self._quit_when_done = False
        self._verdict_opened = False

    @property
    def tally(self) -> Tally:
        """The session's one tally: the feed folds each event into it before the screen hears of the event."""
        return self.feed.tally

    def compose(self) -> ComposeResult:
        yield SessionHeader(id="live-header")
        with Horizontal(id="lanes"):
            yield LanePanel("A", id="lane-a")
            yield LanePanel("B", id="lane-b")
        yield PowerChart(self.trace, id="power-chart")
        yield StoppingStatus(id="stopping-status")
        yield RaceProgress(id="race-progress")
        yield KeyFooter()

    def on_mount(self) -> None:
        # looked up once: _redraw runs ten times a second
        self._views = (
            self.query_one(SessionHeader),
            list(self.query(LanePanel)),
            self.query_one(PowerChart),
            self.query_one(RaceProgress),
            self.query_one(StoppingStatus),
        )
        self.set_interval(1.0 / APPLY_HZ, self.apply_pending, name="apply-events")
        self._redraw()
        self.run_feed()

    def on_unmount(self) -> None:
        # Leaving the screen (or the app) ends the feed: a session stops after its item in flight and is saved
        # as interrupted, and its thread ends, so the app can exit.
        if not self.feed_done:
            self.feed.request_stop()

    # ---- the feed (a thread worker) and its events ---------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="feed", description="session")
    def run_feed(self) -> None:
        """Run the session (or replay) to its end; every event goes through the bridge, the end comes as a
        :class:`FeedEnded` (after a :class:`WorkFailed` when the feed raised)."""
        try:
            end: FeedEnd | None = self.feed.run(self.bridge.handle)
        except Exception as exc:
            self.post_message(WorkFailed("the session stopped", one_line(exc), timeout_s=15))
            end = None
        self.post_message(FeedEnded(end))

    @on(FeedEnded)
    def _feed_ended(self, message: FeedEnded) -> None:
        self.feed_done = True
        self.feed_end = message.end
        self.apply_pending()
        self._redraw()  # the state line and the lanes say the feed has ended
        if self._quit_when_done:
            self.app.exit()
            return
        verdict = message.end.verdict if message.end is not None else None
        if verdict is not None and self.feed.live and not self._verdict_opened:
            self._verdict_opened = True  # the session's verdict, computed once as it ended
            self._show_verdict(verdict, self.state_label())

    def apply_pending(self) -> None:
        """Fold every buffered event, then redraw once (called by the timer, at most ``APPLY_HZ`` a second)."""
        events = self.bridge.drain()
        if not events:
            return
        for event in events:
            self._fold(event)
        self._redraw()

    def _fold(self, event: Event) -> None:
        self.trace.apply(event)
        t = event_time(event)
        if t is not None and (self.clock_mono_s is None or t > self.clock_mono_s):
            self.clock_mono_s = t
        if isinstance(event, SessionStarted):
            self._views[2].describe_session(event)
        elif isinstance(event, RunFailed):
            self.notify(event.reason, title=f"model {event.side} failed", severity="error", timeout=15)
        elif isinstance(event, SessionFinished) and event.status == "failed" and event.reason:
            self.notify(event.reason, title="session failed", severity="error", timeout=15)

    def state_label(self) -> str:
        finished = self.tally.finished
        store_note: str | None = getattr(self.feed, "store_note", None)
        if finished is not None:
            return finished.status + (f" · {store_note}" if store_note else "")
        if store_note:
            return store_note
        if self.stopping:
            return "stopping after the item in flight"
        if self.paused:
            return "paused"
        if self.feed_done:
            return "ended"
        return "running" if self.feed.live else self.feed.label

    def _redraw(self) -> None:
        view = self.view = live_view(
            self.tally, state=self.state_label(), ended=self.feed_done, now_mono_s=self.clock_mono_s
        )
        header, lanes, chart, progress, stopping = self._views
        header.show(view.header)
        for lane in lanes:
            lane.show(view.lane(lane.side))
        chart.refresh_trace()
        progress.show(view.progress)
        stopping.show(view.stopping)

    # ---- actions ----------------------------------------------------------------------------------------------
    def action_toggle_pause(self) -> None:
        if self.feed_done or self.stopping:
            return
        self.paused = not self.paused
        if self.paused:
            self.feed.pause()
            self.notify("paused: the item in flight finishes, then the session waits", timeout=4)
        else:
            self.feed.resume()
        self._redraw()

    def action_stop(self) -> None:
        if self.feed_done or self.stopping:
            return
        self.stopping = True
        self.paused = False
        self.feed.request_stop()
        self._redraw()

    def action_chart_span(self) -> None:
        chart = self.query_one(PowerChart)
        index = CHART_WINDOWS_S.index(chart.window_s) if chart.window_s in CHART_WINDOWS_S else 0
        chart.window_s = CHART_WINDOWS_S[(index + 1) % len(CHART_WINDOWS_S)]

    def action_verdict(self) -> None:
        """The verdict on what has finished so far (the whole session once it ended)."""
        end = self.feed_end
        if end is not None and end.verdict is not None:  # the session's own verdict: not computed again
            self._show_verdict(end.verdict, self.state_label())
            return
        with self.tally.lock:
            items_done = self.tally.items_done
        if items_done == 0:
            self.notify("no item has finished yet: nothing to judge", severity="warning", timeout=4)
            return
        self.judge(self.state_label())

    @work(thread=True, exclusive=True, exit_on_error=False, group="verdict", description="verdict")
    def judge(self, state: str) -> None:
        """Compute the verdict so far off the UI thread (bootstrap CIs take a moment on long sessions)."""
        post_result(self, lambda: VerdictComputed(verdict_from_tally(self.tally), state), failure="no verdict")

    @on(VerdictComputed)
    def _judged(self, message: VerdictComputed) -> None:
        self._show_verdict(message.verdict, message.state)

    def _show_verdict(self, verdict: Verdict, state: str) -> None:
        from greentui.tui.screens.verdict import VerdictScreen

        self.app.push_screen(VerdictScreen(verdict, self.tally, self.trace, status=state))

    def action_back(self) -> None:
        """Leave the screen: at once for a replay or an ended session; a running session must be stopped first."""
        if len(self.app.screen_stack) <= 2:
            return
        if self.feed.live and not self.feed_done:
            self.notify(
                "the session is still running: press s to stop it (its finished items are kept)",
                severity="warning",
                timeout=5,
            )
            return
        self.app.pop_screen()  # on_unmount stops a replay still playing

    def quit_when_done(self) -> None:
        """Leave the app once the feed has ended (SIGTERM / SIGHUP: the session was told to stop now)."""
        self._quit_when_done = True
        self.stopping = True
        self._redraw()

    def request_quit(self) -> bool:
        """Stop the feed before the app exits; True when the app may exit at once."""
        if self.feed_done:
            return True
        if self._quit_when_done:  # asked twice: leave now, the session thread ends the item on its own
            return True
        self._quit_when_done = True
        self.stopping = True
        self.feed.request_stop()
        self.notify("stopping: the item in flight finishes and is saved; press q again to leave at once", timeout=6)
        self._redraw()
        return False
