"""SIGTERM and SIGHUP end a session the way Ctrl-C does: the workers stop, finished items are kept, the session is
marked ``interrupted`` with the signal's name, and the command exits with 128 + the signal number (143, 129).

The handler never raises into whatever the main thread is doing (a commit, a print, a worker's shutdown): it
asks every session that is running to stop *now* (the item in flight is abandoned, as with Ctrl-C), through the
targets registered with :func:`watching`. A signal that comes before a session starts is remembered, and the
session stops as soon as it registers. A second signal also stops waiting for a locked database (what it holds
goes to the recovery journal); a third ends the process at once, the default way.

``handled()`` installs the handler for a command that runs sessions in the main thread (``run --headless``,
``resume``, ``demo --headless``, ``sweep``); the TUI calls :func:`deliver` from its event loop's handler instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)

# called with (reason in words, hurry): hurry is True from the second signal on
Target = Callable[[str, bool], None]

_targets: list[Target] = []
_received: list[int] = []  # every stop signal delivered, in order


def reason_for(signum: int) -> str:
    """``"stopped by SIGTERM"``: the session's status reason and the CLI's last line."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return f"stopped by {name}"


def received() -> int | None:
    """The first stop signal this process got (None: none)."""
    return _received[0] if _received else None


def exit_code(default: int) -> int:
    """128 + the first stop signal's number (143 for SIGTERM, 129 for SIGHUP), else ``default``."""
    first = received()
    return default if first is None else 128 + first


def deliver(signum: int) -> None:
    """Act on one stop signal (the installed handler and the TUI's loop handler both end here)."""
    _received.append(signum)
    count = len(_received)
    if count >= 3:  # asked three times: the user means it
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    for target in _targets.copy():  # a session may unregister meanwhile
        target(reason_for(_received[0]), count > 1)


def _handler(signum: int, frame: FrameType | None) -> None:
    deliver(signum)


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Install the stop handler for SIGTERM and SIGHUP while the block runs (main thread only; elsewhere, and
    where a handler cannot be set, the block runs without it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, object] = {}
    for stop_signal in STOP_SIGNALS:
        try:
            previous[int(stop_signal)] = signal.signal(stop_signal, _handler)
        except (OSError, ValueError):
            continue
    try:
        yield
    finally:
        for signum, handler in previous.items():
            try:
                signal.signal(signum, handler)  # type: ignore[arg-type]
            except (OSError, ValueError):
                pass


@contextlib.contextmanager
def watching(target: Target) -> Iterator[None]:
    """Call ``target`` on every stop signal while the block runs (from the main thread, in a signal handler: it
    must only set flags). A signal received before the block started is passed on at once."""
    _targets.append(target)
    try:
        if _received:
            target(reason_for(_received[0]), len(_received) > 1)
        yield
    finally:
        with contextlib.suppress(ValueError):
            _targets.remove(target)


def reset() -> None:
    """Forget received signals and targets (tests that run several commands in one process)."""
    _received.clear()
    _targets.clear()
