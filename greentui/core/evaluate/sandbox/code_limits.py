"""The limits of one sandboxed code run and its result (split from :mod:`greentui.core.evaluate.sandbox.code`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CodeLimits", "CodeRunResult"]


@dataclass(frozen=True)
class CodeLimits:
    """Limits of one sandboxed run. ``cpu_s`` defaults to ``timeout_s``; ``max_processes`` = 0 allows no child
    processes at all (seccomp where available); a positive value allows that many forks (RLIMIT_NPROC for the
    sandbox's unprivileged user; in a pid namespace all of them die with the run)."""

    timeout_s: float = 5.0
    cpu_s: float | None = None
    memory_mb: int = 256
    output_kb: int = 64
    file_mb: int = 16
    max_processes: int = 0


@dataclass(frozen=True)
class CodeRunResult:
    passed: bool  # the judge ran every test against the solution's answers and none failed
    detail: str  # one line: "passed" or what went wrong
    exit_code: int | None  # of the solution's process; negative: killed by that signal
    timed_out: bool
    output: str  # the solution's stdout + stderr, at most output_kb (decoded with replacement)
    output_truncated: bool
    wall_s: float
    process_cap: str  # "seccomp" | "rlimit" | "none": how child processes were capped
    isolation: str = ""  # Isolation.describe() of the sandbox that ran it
