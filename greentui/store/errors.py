"""Errors of the store: one class per thing a user can cause, each with a one-line message.

The store never lets a raw ``sqlite3`` error escape: :func:`translate` turns one into the matching
:class:`StoreError` subclass, naming the database file so the CLI can print the message as it is.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

LOW_SPACE_BYTES = 1 << 20  # an I/O error with less free space than this beside the database is a full disk


class StoreError(Exception):
    """Base of every store error; ``str(error)`` is one line meant for the user."""


class NotAGreentuiDatabaseError(StoreError):
    """The file exists but is not a greentui database (a text file, another program's SQLite file)."""


class StoreCorruptError(StoreError):
    """The file looks like SQLite but its pages cannot be read."""


class StoreVersionError(StoreError):
    """The schema is newer than this greentui understands, or an old one cannot be upgraded here."""


class StoreReadOnlyError(StoreError):
    """The database (or its folder) cannot be written."""


class StoreFullError(StoreError):
    """The disk (or the database's page limit) is full."""


class StoreBusyError(StoreError):
    """Another process held the database locked for longer than the busy timeout."""


class SessionNotFoundError(StoreError, KeyError):
    """No session has that id (or id prefix)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "session not found"


class AmbiguousSessionIdError(StoreError):
    """An id prefix matches more than one session."""


def translate(error: sqlite3.Error, path: Path | str, doing: str) -> StoreError:
    """Map a ``sqlite3`` error to a :class:`StoreError` with a one-line message.

    ``doing`` names, as a verb phrase, what did not happen ("save the session", "read the sessions").
    """
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    lowered = text.lower()
    if "disk is full" in lowered or ("disk i/o error" in lowered and low_space(Path(path))):
        return StoreFullError(f"{path}: the disk is full, could not {doing}; what was saved before is kept")
    if "readonly" in lowered or "read-only" in lowered:
        return StoreReadOnlyError(f"{path} is read-only: could not {doing}")
    if "locked" in lowered or "busy" in lowered:
        return StoreBusyError(f"{path} stayed locked by another process, could not {doing}; try again")
    if "malformed" in lowered or "corrupt" in lowered:
        return StoreCorruptError(f"{path} is damaged (SQLite: {text}): could not {doing}")
    if "not a database" in lowered or "encrypted" in lowered:
        return NotAGreentuiDatabaseError(f"{path} is not a greentui database (SQLite: {text})")
    if "unable to open" in lowered:
        return StoreError(f"cannot open {path} (SQLite: {text})")
    return StoreError(f"{path}: could not {doing} (SQLite: {text})")


def low_space(path: Path) -> bool:
    """True when the disk holding ``path`` is (nearly) full: SQLite reports a full disk while it sets up its
    WAL index as a plain "disk I/O error"."""
    try:
        return shutil.disk_usage(path.parent).free < LOW_SPACE_BYTES
    except OSError:
        return False
