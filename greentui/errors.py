"""Turning any exception into the one line a user reads."""

from __future__ import annotations

import os


def one_line(exc: BaseException) -> str:
    """The exception as one line; never raises. Expected errors are already worded for users; anything else says
    what it was. (With ``GREENTUI_DEBUG=1`` the CLI prints the traceback itself: see :func:`debugging`.)
    """
    try:
        text = " ".join(str(exc).split())
    except Exception:  # an exception whose __str__ fails must still give the user a line
        text = ""
    text = text or type(exc).__name__
    if type(exc).__module__.startswith("greentui"):
        return text
    return f"unexpected {type(exc).__name__}: {text} (GREENTUI_DEBUG=1 shows the traceback)"


def debugging() -> bool:
    """True when the user asked for tracebacks (``GREENTUI_DEBUG=1``): the CLI re-raises instead of one line."""
    return bool(os.environ.get("GREENTUI_DEBUG"))
