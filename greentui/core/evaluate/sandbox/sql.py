"""The SQL sandbox: one model-written statement on a read-only, time-, memory- and size-limited SQLite connection.

The statement runs in a short-lived child process (``sql_child.py``), so nothing it does can raise greentui's own
memory: the child's address space is capped (``memory_mb``), it may write no file, each string or blob is capped
(``max_value_bytes``, SQLite's length limit) and the whole result too (``max_bytes``, counted while fetching),
besides ``max_rows``. The time limit covers everything from the start of the child: its progress handler stops
the query at the deadline and greentui kills it shortly after if it has not (so a query returns within
``timeout_s`` plus a fraction of a second, never twice the limit). The database is opened ``mode=ro`` with
``PRAGMA query_only``, no attached databases and an authorizer that allows only reads: it is never changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greentui.core.evaluate.sandbox import wire
from greentui.core.evaluate.sandbox.isolation import SANDBOX_DIR, interpreter

SQL_PROGRAM = SANDBOX_DIR / "sql_child.py"
DEFAULT_MAX_BYTES = 8 << 20  # the whole result, as stored (strings in UTF-8, numbers 8 bytes)
DEFAULT_MAX_VALUE_BYTES = 1_000_000  # one string or blob
DEFAULT_MEMORY_MB = 256
KILL_GRACE_S = 0.15  # after the deadline, before the child is killed (its progress handler usually stops first)


class SqlError(Exception):
    """A query that could not run (syntax, denied operation, time limit, too many rows); the message is one line."""


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def run_readonly_query(
    db_path: Path,
    sql: str,
    *,
    timeout_s: float = 5.0,
    max_rows: int = 100_000,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> QueryResult:
    """Run one SQL statement on ``db_path`` without any way to change it, within every limit. Raises
    :class:`SqlError` with one line."""
    db_path = Path(db_path).resolve()
    if not db_path.is_file():
        raise SqlError(f"database not found: {db_path}")
    started = time.monotonic()
    deadline = started + timeout_s
    job = {
        "uri": db_path.as_uri(),
        "name": db_path.name,
        "sql": sql,
        "timeout_s": timeout_s,
        "deadline_monotonic": deadline,
        "max_rows": max_rows,
        "max_bytes": max_bytes,
        "max_value_bytes": max_value_bytes,
        "memory_bytes": memory_mb << 20,
    }
    try:
        proc = subprocess.Popen(
            [interpreter(), "-I", "-S", "-B", "-X", "utf8", str(SQL_PROGRAM)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": os.defpath, "LANG": "C.UTF-8"},
            cwd="/",
            start_new_session=True,
        )
    except OSError as exc:
        raise SqlError(f"the query could not start: {exc}") from None
    try:
        line, late, too_big = _collect(proc, json.dumps(job).encode(), deadline + KILL_GRACE_S, max_bytes)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
    if too_big:
        raise SqlError(f"the query's result is larger than {max_bytes / (1 << 20):g} MB")
    if late:
        raise SqlError(f"the query ran past the {timeout_s:g} s limit")
    return _result(line, proc.returncode, timeout_s)


def _collect(proc: subprocess.Popen[bytes], job: bytes, kill_at: float, max_bytes: int) -> tuple[bytes, bool, bool]:
    """Send the job, read the answer line until ``kill_at``; (line, ran late, answer too large)."""
    assert proc.stdin is not None and proc.stdout is not None
    with contextlib.suppress(OSError):
        proc.stdin.write(job)
        proc.stdin.close()
    cap = 8 * max_bytes + (1 << 20)  # JSON of the largest allowed result (hex blobs, escaped text) and headroom
    out = bytearray()
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            remaining = kill_at - time.monotonic()
            if remaining <= 0:
                return bytes(out), True, False
            if not sel.select(timeout=remaining):
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                return bytes(out), False, False
            out.extend(chunk)
            if len(out) > cap:
                return b"", False, True


def _result(line: bytes, returncode: int | None, timeout_s: float) -> QueryResult:
    try:
        answer = json.loads(line) if line.strip() else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        if returncode is not None and returncode < 0 and returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            raise SqlError(f"the query ran past the {timeout_s:g} s limit")
        raise SqlError(f"the query process failed (exit status {returncode})")
    if "error" in answer:
        raise SqlError(" ".join(str(answer["error"]).split())[:300])
    try:
        ok = answer["ok"]
        rows = wire.from_wire(ok["rows"])
        columns = tuple(str(c) for c in ok["columns"])
        return QueryResult(columns=columns, rows=tuple(tuple(row) for row in rows))
    except (KeyError, TypeError, wire.NotPlain):
        raise SqlError("the query process answered with malformed data") from None
