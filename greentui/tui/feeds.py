"""Where the live screen's events come from: a running session, or a replay of stored (or prepared) events.

A feed's :meth:`run` blocks (the live screen calls it in a thread worker) and hands every event to ``sink``
(the bridge's ``handle``). Both kinds share pause / resume / stop, so the screen does not care which it shows.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from greentui.core.records import Event, ItemScored, PowerSampled, SessionFinished
from greentui.core.run.control import RunControl
from greentui.core.run.tally import Tally

Sink = Callable[[Event], None]


class Feed(Protocol):
    """What the live screen drives: a blocking :meth:`run` and thread-safe controls."""

    label: str  # "live" or "replay ×20"
    live: bool  # True for a real session (its end opens the verdict)

    def run(self, sink: Sink) -> str: ...  # returns the final status
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

    def __init__(self, session_run: Any) -> None:
        self.session_run = session_run
        self.outcome: Any | None = None  # services.SessionOutcome once run() returns

    @property
    def session_id(self) -> str:
        return str(self.session_run.session_id)

    def starting_tally(self) -> Tally:
        """What the session starts from: a resumed session's run has its stored items in its tally already, so
        the live lanes show the earlier items and figures from the first frame (a copy: the run keeps its own)."""
        tally = getattr(self.session_run, "tally", None)
        return copy.deepcopy(tally) if isinstance(tally, Tally) else Tally()

    def run(self, sink: Sink) -> str:
        self.session_run.subscribe(sink)
        self.outcome = self.session_run.run()
        return str(self.outcome.status)

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
        super().__init__()

    def run(self, sink: Sink) -> str:
        status = "completed"
        wall_start: float | None = None
        first_t: float | None = None
        for event in self._events():
            paused_s = self.wait_while_paused()
            if wall_start is not None:
                wall_start += paused_s
            if self.stop_requested:
                return "interrupted"
            t = event_time(event)
            if self.speed is not None and t is not None:
                if first_t is None or wall_start is None:
                    first_t, wall_start = t, time.monotonic()
                delay = wall_start + (t - first_t) / self.speed - time.monotonic()
                if delay > 0 and self.wait_for_stop(delay):
                    return "interrupted"
            sink(event)
            if isinstance(event, SessionFinished):
                status = event.status
        return status
