"""Reading a user's text file (task, items, power trace) so that every failure names the file and the line.

Python's own message for a file that is not UTF-8 ("'utf-8' codec can't decode byte 0xff in position 1234")
names neither; :func:`read_text` says ``items.jsonl:17: not UTF-8 text (byte 0xff at column 9)``. A UTF-8
byte-order mark (as some Windows editors write) is accepted and dropped.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path


class TextFileError(ValueError):
    """A file that cannot be read as UTF-8 text; ``str(error)`` is one line starting with ``path:line:``."""


def decode_utf8(data: bytes, path: str | os.PathLike[str]) -> str:
    """``data`` as text; raises :class:`TextFileError` naming ``path``, the line and the column of the first
    byte that is not UTF-8."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - line_start + 1
        raise TextFileError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}); save it as UTF-8"
        ) from None


def read_text(path: str | os.PathLike[str]) -> str:
    """The whole file as text (see :func:`decode_utf8`); an unreadable file raises :class:`TextFileError` too."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise TextFileError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise TextFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return decode_utf8(data, path)
