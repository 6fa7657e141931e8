"""The process that runs one model-written SQL statement (``python -I -S -B sql_child.py`` with a job on stdin).

Started by path (standard library only; ``wire.py`` beside it is loaded by path). Running the query here, not in
greentui, bounds everything it can take: RLIMIT_AS caps SQLite's memory (sorts and temporary b-trees stay in
memory: ``temp_store = MEMORY``, no temporary files), RLIMIT_FSIZE 0 forbids writing any file, RLIMIT_CPU and a
progress handler stop it at the deadline, and the rows are counted in bytes while they are fetched. The answer is
one line on stdout: ``{"ok": {"columns": [...], "rows": WIRE}}`` or ``{"error": "one line"}``.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import sqlite3
import sys
import time

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs every sandboxed item


def _sibling(name: str) -> ModuleType:
    """A module beside this file. Run as a script (``-I`` leaves greentui off sys.path) it is executed from its
    path, without importlib machinery: the sandbox starts an interpreter per item, and every import costs."""
    if __package__:
        __import__(f"{__package__}.{name}")
        return sys.modules[f"{__package__}.{name}"]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    module = type(sys)(f"_greentui_sandbox_{name}")
    module.__file__ = path
    sys.modules[module.__name__] = module
    with open(path, encoding="utf-8") as handle:
        exec(compile(handle.read(), path, "exec"), module.__dict__)
    return module


if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

    from greentui.core.evaluate.sandbox import wire
else:
    wire = _sibling("wire")

ALLOWED_ACTIONS = {sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
DENIED_FUNCTIONS = {"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"}
ROW_OVERHEAD_BYTES = 16  # counted per row, so a flood of empty rows is bounded too


class QueryFailed(Exception):
    """One line for the scorer."""


def authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    """SQLite authorizer: reads, SELECT, recursive CTEs and ordinary functions only; everything else is denied."""
    if action not in ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def value_bytes(value: Any) -> int:
    """What one value costs against the byte budget (its size as stored, at least 8)."""
    if isinstance(value, str):
        return max(8, len(value.encode("utf-8", "surrogatepass")))
    if isinstance(value, bytes):
        return max(8, len(value))
    return 8


def limit_self(job: dict[str, Any]) -> None:
    memory = int(job["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    cpu_s = math.ceil(float(job["timeout_s"])) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Open the database read-only, run the statement, fetch within the budgets."""
    deadline = float(job["deadline_monotonic"])
    timeout_s = float(job["timeout_s"])
    try:
        conn = sqlite3.connect(f"{job['uri']}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise QueryFailed(f"cannot open {job['name']}: {exc}") from None
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        if sys.version_info >= (3, 11):  # Connection.setlimit; on 3.10 the other bounds still hold
            conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, int(job["max_value_bytes"]))
            conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 100_000)
        conn.set_authorizer(authorize)
        # every 1000 virtual-machine instructions: a non-zero return interrupts the statement
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        max_rows, max_bytes = int(job["max_rows"]), int(job["max_bytes"])
        try:
            cursor = conn.execute(str(job["sql"]).strip().rstrip(";"))
            rows: list[tuple[Any, ...]] = []
            total = 0
            for row in cursor:  # one row at a time: the budgets are checked before the next row is made
                total += ROW_OVERHEAD_BYTES + sum(value_bytes(v) for v in row)
                rows.append(row)
                if len(rows) > max_rows:
                    raise QueryFailed(f"the query returned more than {max_rows} rows")
                if total > max_bytes:
                    raise QueryFailed(f"the query's result is larger than {_size(max_bytes)}")
                if len(rows) % 64 == 0 and time.monotonic() > deadline:
                    raise QueryFailed(f"the query ran past the {timeout_s:g} s limit")
        except sqlite3.Warning as exc:  # e.g. more than one statement
            raise QueryFailed(sql_message(exc)) from None
        except MemoryError:
            raise QueryFailed(f"the query needed more than {_size(int(job['memory_bytes']))} of memory") from None
        except sqlite3.Error as exc:
            if time.monotonic() > deadline:
                raise QueryFailed(f"the query ran past the {timeout_s:g} s limit") from None
            raise QueryFailed(sql_message(exc)) from None
        columns = [str(d[0]) for d in cursor.description or ()]
        return {"ok": {"columns": columns, "rows": wire.to_wire(rows)}}
    finally:
        conn.close()


def sql_message(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if "not authorized" in text or "authorization denied" in text:
        return "not allowed: only a read-only SELECT may run"
    if "one statement at a time" in text:
        return "only a single statement may run"
    if "out of memory" in text:
        return "the query ran out of memory"
    return text


def _size(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):g} MB" if n_bytes >= 1 << 20 else f"{n_bytes} bytes"


def main() -> int:
    job = json.loads(sys.stdin.buffer.read())
    limit_self(job)
    try:
        answer = run(job)
    except QueryFailed as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": f"the query needed more than {_size(int(job['memory_bytes']))} of memory"}
    try:
        data = wire.message(answer)
    except MemoryError:
        data = wire.message({"error": "the query's result did not fit in memory"})
    wire.write_all(1, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
