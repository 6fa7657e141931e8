"""Untrusted text (model output, prompts, task fields, file names) made inert for terminals and spreadsheets.

A leaf module (standard library only) so that every layer can use it: the TUI and the text renderers before
they draw, the store's CSV export before it writes a cell, the markdown report before it writes a line.

* :func:`escape_controls` replaces every C0/C1 control character (ESC, BEL, NUL, the bytes that start OSC 52
  clipboard writes and OSC 8 links...) and every bidirectional embedding, override, isolate and mark
  (U+202E and friends, which make text read differently from what it is) with a visible escape such as
  ``\\x1b`` or ``\\u202e``; only the characters named in ``keep`` (by default the newline) stay as they are.
* :func:`neutralize_formula` prefixes a spreadsheet cell that a spreadsheet would run as a formula (OWASP's
  CSV-injection rule: a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) with an apostrophe, and
  :func:`restore_formula` takes that apostrophe off again when greentui reads its own CSV back.
"""

from __future__ import annotations

import re

# C0 controls (NUL..US, the newline and tab included: ``keep`` exempts them), DEL, C1 controls (0x80-0x9f,
# where 0x9b is a one-byte CSI and 0x9d a one-byte OSC), the Arabic letter mark, the left-to-right and
# right-to-left marks, the bidi embeddings and overrides (U+202A-E) and isolates (U+2066-9).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# What makes a spreadsheet treat a cell as a formula (OWASP "CSV Injection"); the apostrophe is there too so
# that a cell which really starts with one survives the round trip through restore_formula().
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PREFIX = "'"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, keep: str = "\n") -> str:
    """``text`` with control and bidi characters shown as visible escapes (``\\x1b``, ``\\u202e``), except those
    in ``keep``. The result holds no byte a terminal would act on."""
    if not keep:
        return _UNSAFE.sub(_escape, text)
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m), text)


def has_controls(text: str, *, keep: str = "\n") -> bool:
    """True if :func:`escape_controls` would change ``text``."""
    return any(ch not in keep for ch in _UNSAFE.findall(text))


def neutralize_formula(cell: str) -> str:
    """A text cell a spreadsheet shows as text: one that starts like a formula gets a leading apostrophe."""
    return _PREFIX + cell if cell.startswith((*FORMULA_TRIGGERS, _PREFIX)) else cell


def restore_formula(cell: str) -> str:
    """The inverse of :func:`neutralize_formula` (for cells greentui wrote)."""
    return cell[1:] if cell.startswith(_PREFIX) else cell


def spreadsheet_text(text: str) -> str:
    """A cell for a CSV file meant for spreadsheets: controls escaped (newline and tab kept, the CSV writer
    quotes them), then a formula neutralized."""
    return neutralize_formula(escape_controls(text, keep="\n\t"))
