"""The bridge from the session's threads to the UI thread.

A session calls its subscribers from the session thread and from the sampler thread, hundreds of times a second
(two models streaming tokens, the sampler at 10-50 Hz). Each event is only appended to a lock-protected buffer
here -- cheap for the producer, no UI work on its thread. The live screen drains the buffer from a timer at most
:data:`APPLY_HZ` times a second and folds the whole batch at once, so the screen redraws at a bounded rate however
fast the models run, and never falls behind them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from greentui.core.records import Event

APPLY_HZ = 10.0
"""How often the UI applies buffered events (per second): the ceiling on redraws caused by the session."""


class EventBridge:
    """A thread-safe buffer of events: :meth:`handle` from any thread, :meth:`drain` from the UI thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._received = 0

    def handle(self, event: Event) -> None:
        """Queue one event (thread-safe; this is the callable given to ``Session.subscribe``)."""
        with self._lock:
            self._pending.append(event)
            self._received += 1

    def extend(self, events: Iterable[Event]) -> None:
        """Queue several events at once (a replay pushes them in batches)."""
        batch = list(events)
        with self._lock:
            self._pending.extend(batch)
            self._received += len(batch)

    def drain(self) -> list[Event]:
        """Take every queued event, oldest first, leaving the buffer empty."""
        with self._lock:
            batch, self._pending = self._pending, []
        return batch

    @property
    def pending(self) -> int:
        """How many events wait to be applied."""
        with self._lock:
            return len(self._pending)

    @property
    def received(self) -> int:
        """How many events arrived since the bridge was made."""
        with self._lock:
            return self._received
