"""Sandboxes for untrusted model output: SQL (:mod:`.sql`) and Python code (:mod:`.code`, running :mod:`.child`)."""

from __future__ import annotations

from greentui.core.evaluate.sandbox.code import CodeLimits, CodeRunResult, run_python_sandboxed
from greentui.core.evaluate.sandbox.sql import QueryResult, SqlError, run_readonly_query

__all__ = ["CodeLimits", "CodeRunResult", "QueryResult", "SqlError", "run_python_sandboxed", "run_readonly_query"]
