"""The code sandbox: model-written Python in a separate, resource-limited process (the program it runs is
``child.py`` beside this module).

What the code sandbox does (and does not) prevent -- a process sandbox without containers cannot stop every harm:

* CPU time (RLIMIT_CPU), address space (RLIMIT_AS), file size (RLIMIT_FSIZE), open files and core dumps are capped
  by the child itself before any model code runs; a wall-clock limit kills the whole process group (``os.killpg``).
* Process creation: on Linux x86-64/aarch64 a seccomp filter makes ``fork``/``vfork``/``clone`` (threads excepted)
  fail with EPERM, and also refuses ``setrlimit``/``prlimit``, ``ptrace``, and signals to any process but itself.
  It works for root too, where RLIMIT_NPROC is not enforced. Without seccomp, RLIMIT_NPROC is set (effective only
  for non-root users) and stray processes are found by a marker in their environment and killed.
* Output is captured up to ``output_kb``; the rest is read and dropped.
* The child runs with ``python -I`` in a fresh temporary folder as cwd, with HOME and TMPDIR pointing into it.
  It is *not* stopped from writing files elsewhere with the permissions of the user running greentui (RLIMIT_FSIZE
  only caps their size), nor from reading files or opening sockets. Do not run greentui as root.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CHILD_PROGRAM = Path(__file__).with_name("child.py")


@dataclass(frozen=True)
class CodeLimits:
    """Limits of one sandboxed run. ``cpu_s`` defaults to ``timeout_s``; ``max_processes`` = 0 allows no child
    processes at all (seccomp where available); a positive value allows that many through RLIMIT_NPROC (which
    root ignores: then only the process-group kill at the end contains them)."""

    timeout_s: float = 5.0
    cpu_s: float | None = None
    memory_mb: int = 256
    output_kb: int = 64
    file_mb: int = 16
    max_processes: int = 0


@dataclass(frozen=True)
class CodeRunResult:
    passed: bool  # exited 0 after the runner finished every test
    detail: str  # one line: "passed" or what went wrong
    exit_code: int | None  # negative: killed by that signal
    timed_out: bool
    output: str  # stdout + stderr, at most output_kb (decoded with replacement)
    output_truncated: bool
    wall_s: float
    process_cap: str  # "seccomp" | "rlimit" | "none": how child processes were capped


def run_python_sandboxed(code: str, tests: str, limits: CodeLimits | None = None) -> CodeRunResult:
    """Run ``code`` then ``tests`` (plain asserts) in a fresh, limited ``python -I`` process; never raises for
    anything the code does. Passed means: exit status 0 *and* the runner reported every test done."""
    limits = limits or CodeLimits()
    if sys.platform == "win32":
        return CodeRunResult(False, "the code sandbox needs Linux or macOS", None, False, "", False, 0.0, "none")
    workdir = Path(tempfile.mkdtemp(prefix="greentui-sandbox-"))
    token = secrets.token_hex(8)
    nonce = secrets.token_hex(16)
    status_r, status_w = os.pipe()
    try:
        (workdir / "solution.py").write_text(code, encoding="utf-8")
        (workdir / "tests.py").write_text(tests, encoding="utf-8")
        cpu_s = max(1, round(limits.cpu_s if limits.cpu_s is not None else limits.timeout_s))
        cfg = {
            "status_fd": status_w,
            "cpu_s": cpu_s,
            "memory_bytes": limits.memory_mb << 20,
            "file_bytes": limits.file_mb << 20,
            "max_processes": limits.max_processes,
        }
        env = {
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
            "TMP": str(workdir),
            "TEMP": str(workdir),
            "PATH": os.defpath,
            "LANG": "C.UTF-8",
            "GREENTUI_SANDBOX": token,
            "GREENTUI_SANDBOX_NONCE": nonce,
        }
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", "-X", "utf8", str(CHILD_PROGRAM), json.dumps(cfg)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(status_w,),
        )
        os.close(status_w)
        status_w = -1
        assert proc.stdout is not None
        output, truncated, status_text, timed_out = _supervise(
            proc, status_r, started + limits.timeout_s, limits.output_kb << 10
        )
        wall_s = time.monotonic() - started
        if limits.max_processes > 0 or "cap seccomp" not in status_text:
            _kill_marked_processes(token)
    finally:
        for fd in (status_r, status_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        shutil.rmtree(workdir, ignore_errors=True)
    exit_code = proc.returncode
    cap_match = re.search(r"^cap (\S+)$", status_text, re.M)
    process_cap = cap_match.group(1) if cap_match else "none"
    fail = re.search(rf"^fail {nonce} (\S+) (.*)$", status_text, re.M)
    passed = exit_code == 0 and re.search(rf"^ok {nonce}$", status_text, re.M) is not None and not timed_out
    if passed:
        detail = "passed"
    elif timed_out:
        detail = f"killed at the {limits.timeout_s:g} s wall-clock limit"
    elif fail:
        detail = f"{'tests failed' if fail.group(1) == 'tests' else 'the code failed'}: {fail.group(2)}"
    elif exit_code is not None and exit_code < 0:
        name = _signal_name(-exit_code)
        hint = {"SIGXCPU": " (CPU-time limit)", "SIGXFSZ": " (file-size limit)"}.get(name, "")
        detail = f"killed by {name}{hint}"
    else:
        detail = f"exited with status {exit_code} before the tests finished"
    text = output.decode("utf-8", errors="replace")
    return CodeRunResult(passed, detail, exit_code, timed_out, text, truncated, wall_s, process_cap)


def _supervise(
    proc: subprocess.Popen[bytes], status_fd: int, deadline: float, max_output: int
) -> tuple[bytes, bool, str, bool]:
    """Read output and status until the child exits or the deadline passes; then kill its process group.

    The group is killed while the leader is still an unreaped zombie, so its id cannot have been reused.
    """
    assert proc.stdout is not None
    out_fd = proc.stdout.fileno()
    output = bytearray()
    status = bytearray()
    truncated = False
    timed_out = False
    sel = selectors.DefaultSelector()
    sel.register(out_fd, selectors.EVENT_READ, "out")
    sel.register(status_fd, selectors.EVENT_READ, "status")
    pidfd = -1
    if hasattr(os, "pidfd_open"):  # readable when the child exits: no polling delay
        with contextlib.suppress(OSError):
            pidfd = os.pidfd_open(proc.pid)
            sel.register(pidfd, selectors.EVENT_READ, "exit")
    poll_s = 0.05 if pidfd < 0 else 1.0

    def drain(key_data: str, fd: int) -> bool:
        nonlocal truncated
        chunk = os.read(fd, 65536)
        if not chunk:
            sel.unregister(fd)
            return False
        if key_data == "status":
            status.extend(chunk[:4096])
        else:
            room = max_output - len(output)
            output.extend(chunk[:room])
            truncated = truncated or len(chunk) > room
        return True

    try:
        while True:
            if _has_exited(proc):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in sel.select(timeout=min(remaining, poll_s)):
                if key.data != "exit":
                    drain(key.data, key.fd)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if pidfd >= 0:
            sel.unregister(pidfd)
        for fd in (out_fd, status_fd):  # what is left in the pipes (non-blocking: strays may hold them open)
            os.set_blocking(fd, False)
        while sel.get_map():
            ready = sel.select(timeout=0)
            if not ready:
                break
            for key, _ in ready:
                try:
                    drain(key.data, key.fd)
                except BlockingIOError:
                    sel.unregister(key.fd)
    finally:
        sel.close()
        proc.stdout.close()
        if pidfd >= 0:
            os.close(pidfd)
    return bytes(output), truncated, status.decode("utf-8", errors="replace"), timed_out


def _has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """True when the child has exited, without reaping it (so killpg still targets its group)."""
    if hasattr(os, "waitid"):
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None
    return proc.poll() is not None


def _kill_marked_processes(token: str, rounds: int = 20) -> int:
    """Kill processes that left the group (setsid) but still carry this run's marker; returns how many."""
    marker = f"GREENTUI_SANDBOX={token}".encode()
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        return 0
    killed = 0
    for _ in range(rounds):
        found = []
        for entry in proc_dir.iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if marker in (entry / "environ").read_bytes().split(b"\0"):
                        found.append(int(entry.name))
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
    return killed


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
