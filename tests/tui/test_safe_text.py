"""Untrusted text is shown literally: markup, links and escape sequences are never interpreted."""

from __future__ import annotations

from greentui.tui.safe_text import escape_controls, literal_text


def test_markup_is_kept_as_plain_text() -> None:
    text = literal_text("[bold red]x[/] [link=http://x]y[/link] :smile:")
    assert text.plain == "[bold red]x[/] [link=http://x]y[/link] :smile:"
    assert not text.spans
    assert text.style == ""


def test_control_characters_become_visible_escapes() -> None:
    raw = "a\x1b[31mred\x1b]8;;http://evil\x07link\x1b]8;;\x07\r\x00\x7f\x9b\u202eb\n"
    shown = escape_controls(raw)
    assert shown == ("a\\x1b[31mred\\x1b]8;;http://evil\\x07link\\x1b]8;;\\x07\\x0d\\x00\\x7f\\x9b\\u202eb\n")
    assert not any(ord(ch) < 0x20 and ch != "\n" for ch in shown)


def test_newlines_stay_tabs_expand_and_one_line_marks_breaks() -> None:
    assert escape_controls("a\tb\nc") == "a    b\nc"
    assert literal_text("a\nb", one_line=True).plain == "a⏎b"


def test_style_is_a_span_so_appended_text_keeps_its_own_style() -> None:
    text = literal_text("bold", style="bold")
    text.append(" plain")
    assert text.style == ""
    assert [(span.start, span.end, str(span.style)) for span in text.spans] == [(0, 4, "bold")]
