"""errors.one_line: one line for any exception, and it never raises."""

from __future__ import annotations

import pytest

from greentui.errors import debugging, one_line


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("boom")


def test_an_exception_whose_str_fails_still_gives_one_line() -> None:
    assert one_line(_Unprintable()) == "unexpected _Unprintable: _Unprintable (GREENTUI_DEBUG=1 shows the traceback)"


def test_debug_mode_does_not_make_one_line_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENTUI_DEBUG", "1")
    assert debugging()
    assert (
        one_line(ValueError("bad\nthing")) == "unexpected ValueError: bad thing (GREENTUI_DEBUG=1 shows the traceback)"
    )
