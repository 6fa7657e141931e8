"""SIGTERM and SIGHUP end a session the way Ctrl-C does: the workers stop, finished items are kept, the session is
marked ``interrupted`` with the signal's name, and the command exits with 128 + the signal number (143, 129).

The handler itself (run by Python in the main thread, between two bytecodes of whatever it was doing: a commit, a
print, a lock held) only records the signal and writes one byte to a pipe; no lock, no exception. A dispatch thread
reads the pipe and tells every registered target (:func:`watching`, :func:`add_target`): a running session stops
*now* (the item in flight is abandoned, as with Ctrl-C), the TUI leaves once its session has ended. A signal that
comes before a session starts is remembered, and that session starts nothing. A second signal also stops waiting
for a locked database (what it holds goes to the recovery journal); a third ends the process at once.

``handled()`` installs the handler for the commands that run sessions (``run``, ``resume``, ``demo``, ``sweep``,
the TUI); :func:`deliver` does the same work synchronously (tests).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

log = logging.getLogger(__name__)

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)

# called with (reason in words, hurry): hurry is True from the second signal on; from the dispatch thread (or the
# caller of deliver()), so it must be thread-safe
Target = Callable[[str, bool], None]
# what signal.signal() takes and returns (a function, SIG_DFL / SIG_IGN, or None for a handler not set from Python)
_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None

_targets: list[Target] = []
_received: list[int] = []  # every stop signal, in order (appended by the handler: a list append takes no lock)
_wake: tuple[int, int] | None = None  # the pipe from the handler to the dispatch thread
_notified = [0]  # how many of _received the targets have heard of
_installed = [0]  # handled() blocks running now


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


def installed() -> bool:
    """True while :func:`handled` has the handler installed (a command's own process, not a test's)."""
    return _installed[0] > 0


def add_target(target: Target) -> None:
    _targets.append(target)


def remove_target(target: Target) -> None:
    with contextlib.suppress(ValueError):
        _targets.remove(target)


def _notify() -> None:
    """Tell the targets of every signal they have not heard of yet."""
    while _notified[0] < len(_received):
        _notified[0] += 1
        hurry = _notified[0] > 1
        # newest first: a running session hears it before the app that shows it (which waits for it to end)
        for target in reversed(_targets.copy()):  # (a copy: a session may unregister meanwhile)
            try:
                target(reason_for(_received[0]), hurry)
            except Exception:  # one broken target must not keep the others from stopping
                log.debug("a stop-signal target raised", exc_info=True)


def deliver(signum: int) -> None:
    """Record a stop signal and tell the targets now, in this thread (what the handler's dispatch thread does)."""
    _received.append(signum)
    _notify()


def _handler(signum: int, frame: FrameType | None) -> None:
    # Runs in the main thread at an arbitrary point: record, wake the dispatch thread, nothing else.
    _received.append(signum)
    if len(_received) >= 3:  # asked three times: the user means it
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _wake is not None:
        try:
            os.write(_wake[1], b"\0")
        except OSError:
            pass


def _dispatch(read_fd: int) -> None:
    while True:
        try:
            if not os.read(read_fd, 64):
                return
        except OSError:
            return
        _notify()


def _start_dispatch() -> None:
    global _wake
    if _wake is not None:
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)  # the handler never blocks on a full pipe (one byte is enough anyway)
    _wake = (read_fd, write_fd)
    threading.Thread(target=_dispatch, args=(read_fd,), name="greentui-stop-signals", daemon=True).start()


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Install the stop handler for SIGTERM and SIGHUP while the block runs (main thread only; elsewhere, and
    where a handler cannot be set, the block runs without it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _start_dispatch()
    previous: dict[int, _Handler] = {}
    for stop_signal in STOP_SIGNALS:
        try:
            previous[int(stop_signal)] = signal.signal(stop_signal, _handler)
        except (OSError, ValueError):
            continue
    _installed[0] += 1
    try:
        yield
    finally:
        _installed[0] -= 1
        for signum, handler in previous.items():
            try:
                signal.signal(signum, handler)
            except (OSError, ValueError):
                pass


@contextlib.contextmanager
def watching(target: Target) -> Iterator[None]:
    """Call ``target`` on every stop signal while the block runs. A signal received before the block started is
    passed on at once."""
    add_target(target)
    try:
        if _received:
            target(reason_for(_received[0]), len(_received) > 1)
        yield
    finally:
        remove_target(target)


def reset() -> None:
    """Forget received signals and targets (tests that run several commands in one process)."""
    _received.clear()
    _targets.clear()
    _notified[0] = 0
