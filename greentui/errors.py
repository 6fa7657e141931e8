"""Turning any exception into the one line a user reads."""

from __future__ import annotations

import os


def one_line(exc: BaseException) -> str:
    """The exception as one line. Expected errors are already worded for users; anything else says what it was.

    Set ``GREENTUI_DEBUG=1`` to see the full traceback instead (the CLI then re-raises).
    """
    if os.environ.get("GREENTUI_DEBUG"):
        raise exc
    text = " ".join(str(exc).split()) or type(exc).__name__
    if type(exc).__module__.startswith("greentui"):
        return text
    return f"unexpected {type(exc).__name__}: {text} (GREENTUI_DEBUG=1 shows the traceback)"
