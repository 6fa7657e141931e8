"""Where the live screen's events come from: a running session, or a replay of stored (or prepared) events.

A feed's :meth:`run` blocks (the live screen calls it in a thread worker) and hands every event to ``sink``
(the bridge's ``handle``). Every event is folded into the feed's one :attr:`tally` before it reaches the sink: the
live screen draws its figures from that tally and never folds events itself. For a running session it is
``SessionRun.tally``, the tally the store-side verdict is computed from. Both kinds share pause / resume / stop,
so the screen does not care which it shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from greentui.core.records import Event, ItemScored, PowerSampled, SessionFinished
from greentui.core.run.control import RunControl
from greentui.core.run.tally import Tally
from greentui.core.verdict.compute import Verdict

if TYPE_CHECKING:
    from greentui.services import SessionOutcome, SessionRun

Sink = Callable[[Event], None]


@dataclass(frozen=True)
class FeedEnd:
    """How a feed's run ended: the final status, and a live session's one verdict (computed by the session run
    as it ended; None for a replay, or when neither side finished an item)."""

    status: str
    verdict: Verdict | None = None


class Feed(Protocol):
    """What the live screen drives: a blocking :meth:`run`, thread-safe controls, and the tally it feeds."""

    label: str  # "live" or "replay ×20"
    live: bool  # True for a real session (its end opens the verdict)

    @property
    def tally(self) -> Tally: ...  # every event is folded in here before the sink sees it
    def run(self, sink: Sink) -> FeedEnd: ...
    def request_stop(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...


def event_time(event: Event) -> float | None:
    """The monotonic time an event happened at (the end of an item for ``ItemScored``)."""
    if isinstance(event, PowerSampled):
        return event.sample.t_mono_s
    if isinstance(event, ItemScored):
        return event.ended_mono_s
    return getattr(event, "t_mono_s", None)


class SessionFeed:
    """Runs a prepared :class:`greentui.services.SessionRun` (session + store writer + verdict saved at the end)."""

    live = True
    label = "live"

    def __init__(self, session_run: SessionRun) -> None:
        self.session_run = session_run
        self.outcome: SessionOutcome | None = None  # once run() returns

    @property
    def session_id(self) -> str:
        return str(self.session_run.session_id)

    @property
    def tally(self) -> Tally:
        """The session run's one tally (a resumed session's holds its stored items from the first frame)."""
        return self.session_run.tally

    def run(self, sink: Sink) -> FeedEnd:
        self.session_run.subscribe(sink)  # after the run's own tally: an event the screen hears is already folded
        self.outcome = self.session_run.run()
        return FeedEnd(str(self.outcome.status), self.outcome.verdict)

    @property
    def store_note(self) -> str | None:
        """A few words while the store is not saving normally ("waiting for the database"), else None."""
        state = getattr(self.session_run.store_status, "state", "saving")
        return {
            "waiting": "waiting for the database",
            "journal": "results go to a recovery journal",
            "lost": "results not saved",
        }.get(state)

    def request_stop(self) -> None:
        self.session_run.session.request_stop()

    def pause(self) -> None:
        self.session_run.session.pause()

    def resume(self) -> None:
        self.session_run.session.resume()


class ReplayFeed(RunControl):
    """Plays events again, at ``speed`` times their recorded pace (``None``: all at once)."""

    live = False

    def __init__(
        self, events: Callable[[], Iterable[Event]], *, speed: float | None = 20.0, session_id: str | None = None
    ) -> None:
        self._events = events
        self.speed = speed
        self.session_id = session_id
        self.label = "replay" if speed is None else f"replay ×{speed:g}"
        self.tally = Tally()
        super().__init__()

    def run(self, sink: Sink) -> FeedEnd:
        status = "completed"
        wall_start: float | None = None
        first_t: float | None = None
        for event in self._events():
            paused_s = self.wait_while_paused()
            if wall_start is not None:
                wall_start += paused_s
            if self.stop_requested:
                return FeedEnd("interrupted")
            t = event_time(event)
            if self.speed is not None and t is not None:
                if first_t is None or wall_start is None:
                    first_t, wall_start = t, time.monotonic()
                delay = wall_start + (t - first_t) / self.speed - time.monotonic()
                if delay > 0 and self.wait_for_stop(delay):
                    return FeedEnd("interrupted")
            self.tally.apply(event)
            sink(event)
            if isinstance(event, SessionFinished):
                status = event.status
        return FeedEnd(status)
