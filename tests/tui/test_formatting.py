"""The rough ETA of the live screen (written by the one formatter)."""

from __future__ import annotations

from greentui.format import format_about as about


def test_the_eta_is_said_roughly() -> None:
    assert [about(s) for s in (3.0, 47.0, 61.0, 250.0, 3600.0, 4230.0)] == [
        "about 5 s",
        "about 45 s",
        "about 1 min",
        "about 4 min",
        "about 1 h",
        "about 1 h 10 min",
    ]
