"""No accepted screen picture crops an "est." mark, and the estimated figures in them carry it whole.

Every figure derived from an estimated power source says "est."; a mark cut to "e…" or "es" makes an estimate
look like a measurement. These tests read the SVG snapshots that ``test_snapshots.py`` checks the screens
against, at 80x24, 100x30 and 160x48.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.snapshots.svg_text import svg_rows

SNAPSHOTS = Path(__file__).resolve().parent / "__snapshots__" / "test_snapshots"
PICTURES = sorted(SNAPSHOTS.glob("*.svg"))
SIZES = ("80x24", "100x30", "160x48")

# "e…", "es…", "est…" as a word of their own, or a figure followed by "e", "es" or "est" without its dot
CROPPED_WITH_ELLIPSIS = re.compile(r"(?<![A-Za-z])es?t?…")
CROPPED_AT_EDGE = re.compile(r"\d(?: ?[kmµ]?(?:J|W|Wh|g))? (?:e|es|est)(?=$|[\s│┃▎▊▏])")

# The estimated figures of the fixed sessions the snapshots show, each with its mark (fakes.py: estimated power)
WHOLE_MARKS = {
    "test_live_screen_mid_race": (
        "19.8 W est.",
        "28.8 J est.",
        "22.4 J est.",
        "1.20 est.",
        "0.933 est.",
        "9.60 J est.",
        "448 µg est.",
    ),
    "test_verdict_screen": ("57.6 J · 16.0 mWh est.", "1.20 est.", "0.933 est."),
    "test_history_screen": ("60.0 J est.", "102 J est.", "38.4 J est.", "43.2 J est."),
}


def test_every_screen_has_pictures_at_the_three_sizes() -> None:
    names = {path.stem for path in PICTURES}
    for screen in (*WHOLE_MARKS, "test_setup_screen"):
        for size in SIZES:
            assert f"{screen}[{size}]" in names


@pytest.mark.parametrize("picture", PICTURES, ids=[path.stem for path in PICTURES])
def test_no_est_mark_is_cropped(picture: Path) -> None:
    for row in svg_rows(picture.read_text(encoding="utf-8")):
        assert not CROPPED_WITH_ELLIPSIS.search(row), f"a cropped est. mark in {picture.stem}: {row!r}"
        assert not CROPPED_AT_EDGE.search(row), f"an est. mark cut at the edge in {picture.stem}: {row!r}"


@pytest.mark.parametrize("screen", sorted(WHOLE_MARKS))
@pytest.mark.parametrize("size", SIZES)
def test_estimated_figures_carry_their_mark(screen: str, size: str) -> None:
    text = "\n".join(svg_rows((SNAPSHOTS / f"{screen}[{size}].svg").read_text(encoding="utf-8")))
    for figure in WHOLE_MARKS[screen]:
        assert figure in text, f"{figure!r} is not shown whole in {screen}[{size}]"


def test_the_checks_catch_a_cropped_mark() -> None:
    assert CROPPED_WITH_ELLIPSIS.search("│ 19.8 W e…  │")
    assert CROPPED_WITH_ELLIPSIS.search("0.00045 g es…")
    assert CROPPED_AT_EDGE.search("  2026-11-22  failed   60.0 J es")
    assert CROPPED_AT_EDGE.search("│ 1.200 est │")
    assert not CROPPED_AT_EDGE.search("│ 1.200 est. │")
    assert not CROPPED_WITH_ELLIPSIS.search("the review is negative…")
