"""TUI test fixtures: a pinned time zone (dates on screen), a fresh store, and a quiet app (no animation)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greentui.store import SessionStore


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    opened = SessionStore(tmp_path / "sessions.db")
    yield opened
    opened.close()
