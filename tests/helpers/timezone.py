"""Pin the local time zone for a test: dates are shown in local time with the zone named (greentui.format)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# Central European time as a POSIX rule (no tz database needed): CET (UTC+1) in winter, CEST (UTC+2) in summer.
PARIS = "CET-1CEST,M3.5.0,M10.5.0/3"


@contextmanager
def local_zone(monkeypatch: pytest.MonkeyPatch, tz: str) -> Iterator[None]:
    """Within the block, local time is ``tz`` (a POSIX TZ rule or a zone name); restored after it."""
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()
