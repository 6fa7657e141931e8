"""Stop and pause for a loop that runs on another thread (a session, a replay), driven from the UI thread."""

from __future__ import annotations

import threading
import time


class RunControl:
    """Thread-safe stop and pause flags. The loop calls :meth:`wait_while_paused` between steps and checks
    :attr:`stop_requested`; the item in flight always finishes, so no finished result is lost."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._stop_now = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.stop_reason = ""  # why it was asked to stop, in words ("" : by the user)

    def request_stop(self, reason: str = "", *, now: bool = False) -> None:
        """Stop before the next step (a paused loop wakes up to stop). ``reason`` says why (the first one given
        is kept); ``now`` also abandons the step in flight, as Ctrl-C does (SIGTERM, SIGHUP)."""
        if reason and not self.stop_reason:
            self.stop_reason = reason
        if now:
            self._stop_now.set()
        self._stop.set()
        self._running.set()

    @property
    def stop_now_requested(self) -> bool:
        return self._stop_now.is_set()

    def pause(self) -> None:
        """Hold before the next step."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; returns the seconds spent waiting (0.0 when not paused)."""
        if self._running.is_set():
            return 0.0
        paused_at = time.monotonic()
        self._running.wait()
        return time.monotonic() - paused_at

    def wait_for_stop(self, timeout_s: float) -> bool:
        """Sleep up to ``timeout_s``, waking early (True) if a stop is requested."""
        return self._stop.wait(timeout_s)
