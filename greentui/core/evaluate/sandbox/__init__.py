"""Sandboxes for untrusted model output.

* SQL (:mod:`.sql`, running :mod:`.sql_child`): one read-only statement in a child process bounded in time, bytes
  and memory.
* Python (:mod:`.code`): the model's program runs in the sandbox (:mod:`.child`, confined by :mod:`.isolation`,
  :mod:`.confine` and :mod:`.seccomp_filter`) and only answers calls with plain data (:mod:`.wire`); the trusted
  judge (:mod:`.judge`) runs the tests against those answers.
"""

from __future__ import annotations

from greentui.core.evaluate.sandbox.code import CodeLimits, CodeRunResult, run_python_sandboxed
from greentui.core.evaluate.sandbox.isolation import Isolation
from greentui.core.evaluate.sandbox.sql import QueryResult, SqlError, run_readonly_query

__all__ = [
    "CodeLimits",
    "CodeRunResult",
    "Isolation",
    "QueryResult",
    "SqlError",
    "run_python_sandboxed",
    "run_readonly_query",
]
