"""The recovery journal: where the store writer puts finished results that the database would not take.

When a commit cannot succeed (disk full, file made read-only, damaged, or still locked when the session ends),
the writer appends the events it could not save to a journal file instead of dropping them, and the session
stops with one line naming the file. ``greentui recover FILE`` brings the journal into a database
(:func:`greentui.store.recover.recover_journal`); recovering twice adds nothing twice.

The file is JSON Lines, written with an fsync after every append:

* line 1, the header: ``{"greentui_journal": 1, "database": ..., "host": ..., "pid": ...,
  "pid_started_unix_s": ..., "created_unix_s": ..., "reason": ...}`` (the process that wrote the events, which
  recovery uses to tell "this run's session" from one resumed since);
* then one line per event: ``{"session_id": ..., "event": Event.to_dict()}``. A session's SessionStarted (and
  its models and idle baseline, when known) come first, so a journal is complete on its own.

Where: the first of these folders that takes the whole file: ``$GREENTUI_STATE_DIR`` (default: the user state
folder, ``~/.local/state/greentui``) ``/journals``, the system temporary folder, the home folder. A write that
fails half way (that disk filled up too) is written again, whole, at the next place.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greentui import paths
from greentui.core.records import Event, event_from_dict
from greentui.store.errors import StoreError

JOURNAL_FORMAT = 1
SUFFIX = ".greentui-journal.jsonl"


class JournalError(StoreError):
    """A journal cannot be written anywhere, or a file given to ``recover`` is not a readable journal."""


def journal_dirs() -> list[Path]:
    """Folders tried in turn for a new journal (the first one that takes the whole file is used)."""
    places = [paths.state_dir() / "journals", Path(tempfile.gettempdir()) / "greentui-journals"]
    try:
        places.append(Path.home() / "greentui-journals")
    except RuntimeError:  # no home folder known
        pass
    unique: list[Path] = []
    for place in places:
        if place not in unique:
            unique.append(place)
    return unique


@dataclass(frozen=True)
class JournalHeader:
    database: str
    host: str
    pid: int
    pid_started_unix_s: float | None
    created_unix_s: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"greentui_journal": JOURNAL_FORMAT, **self.__dict__}


class RecoveryJournal:
    """One journal file, created on the first :meth:`append`. Not thread-safe: the writer thread owns it.

    Every record appended is also kept in memory, so a place that fails half way can be replaced by the next
    one with the whole journal. ``dirs`` overrides :func:`journal_dirs` (tests).
    """

    def __init__(
        self, database: Path, identity: tuple[str, int, float | None], reason: str, dirs: Sequence[Path] | None = None
    ) -> None:
        host, pid, created = identity
        self.header = JournalHeader(str(database), host, pid, created, time.time(), reason)
        self._dirs = list(dirs) if dirs is not None else journal_dirs()
        self._records: list[str] = []  # JSON lines already in the file
        self._sessions: set[str] = set()
        self.path: Path | None = None
        self.failures: list[str] = []  # places that refused, in words (for the error when none takes it)

    @property
    def n_events(self) -> int:
        return len(self._records)

    def has_session(self, session_id: str) -> bool:
        return session_id in self._sessions

    def append(self, records: Iterable[tuple[str, Event]]) -> Path:
        """Write the records (session id, event) after those already journaled; returns the file's path.

        Raises :class:`JournalError` when no folder takes the journal; the records are kept in memory then, and
        the next append tries every place again.
        """
        records = list(records)
        lines = [
            json.dumps({"session_id": sid, "event": event.to_dict()}, default=str) + "\n" for sid, event in records
        ]
        self._records.extend(lines)
        if self.path is not None:
            try:
                _append_synced(self.path, lines)
                return self.path
            except OSError as exc:
                self.failures.append(f"{self.path.parent}: {exc.strerror or exc}")
                _remove_quietly(self.path)
                self.path = None
        for folder in self._dirs:
            candidate = folder / _file_name(self.header)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                _append_synced(candidate, [json.dumps(self.header.to_dict(), default=str) + "\n", *self._records])
            except OSError as exc:
                self.failures.append(f"{folder}: {exc.strerror or exc}")
                _remove_quietly(candidate)
                continue
            self.path = candidate
            return candidate
        tried = "; ".join(self.failures[-len(self._dirs) :])
        raise JournalError(f"could not write a recovery journal anywhere ({tried})")

    def note_sessions(self, session_ids: Iterable[str]) -> None:
        """Remember that these sessions' opening events are in the journal."""
        self._sessions.update(session_ids)

    def discard(self) -> None:
        """Delete the file: the database took everything it held (a lock that was waited out)."""
        if self.path is not None:
            _remove_quietly(self.path)
        self.path = None
        self._records.clear()
        self._sessions.clear()


def _file_name(header: JournalHeader) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(header.created_unix_s))
    return f"{stamp}-pid{header.pid}{SUFFIX}"


def _append_synced(path: Path, lines: Sequence[str]) -> None:
    data = "".join(lines).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# ---- reading ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JournalContents:
    header: JournalHeader
    records: tuple[tuple[str, Event], ...]  # (session id, event), in the order they were written
    truncated: bool  # the last line was cut short (the process died while writing it) and was skipped


def read_journal(path: Path) -> JournalContents:
    """Read a journal; raises :class:`JournalError` (one line, naming the file and line) for anything else."""
    try:
        with path.open("rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise JournalError(f"cannot read {path} ({exc.strerror or exc})") from None
    lines = raw.split(b"\n")
    truncated = bool(lines[-1].strip())  # a complete journal ends with a newline
    body = lines[:-1]
    if not body and not truncated:
        raise JournalError(f"{path} is empty, not a greentui recovery journal")
    header_line = body[0] if body else lines[-1]
    header = _header(path, header_line)
    records: list[tuple[str, Event]] = []
    for number, line in enumerate(body[1:], start=2):
        if line.strip():
            records.append(_record(path, number, line))
    return JournalContents(header, tuple(records), truncated)


def _header(path: Path, line: bytes) -> JournalHeader:
    try:
        data = json.loads(line)
        if not isinstance(data, dict) or data.get("greentui_journal") is None:
            raise ValueError("no greentui_journal field")
        if data["greentui_journal"] != JOURNAL_FORMAT:
            raise JournalError(
                f"{path} is a journal of format {data['greentui_journal']!r}; this greentui reads {JOURNAL_FORMAT}"
            )
        created = data.get("pid_started_unix_s")
        if not all(isinstance(data[k], str) and data[k].isprintable() for k in ("database", "host")):
            raise ValueError("names with control characters")  # they are printed: never raw escapes
        return JournalHeader(
            database=str(data["database"]),
            host=str(data["host"]),
            pid=int(data["pid"]),
            pid_started_unix_s=None if created is None else float(created),
            created_unix_s=float(data["created_unix_s"]),
            reason=str(data.get("reason", ""))[:2000],
        )
    except JournalError:
        raise
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise JournalError(f"{path} is not a greentui recovery journal (line 1 is not its header)") from None


def _record(path: Path, number: int, line: bytes) -> tuple[str, Event]:
    try:
        data = json.loads(line)
        session_id = data["session_id"]
        if not isinstance(session_id, str) or not session_id or not session_id.isprintable() or len(session_id) > 200:
            raise ValueError("no session id")  # it is printed: never raw escapes
        return session_id, event_from_dict(data["event"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError) as exc:
        raise JournalError(f"{path} line {number}: not a journal record ({type(exc).__name__})") from None


def iter_sessions(records: Iterable[tuple[str, Event]]) -> Iterator[str]:
    """The session ids of the records, each once, in order of first appearance."""
    seen: set[str] = set()
    for session_id, _ in records:
        if session_id not in seen:
            seen.add(session_id)
            yield session_id
