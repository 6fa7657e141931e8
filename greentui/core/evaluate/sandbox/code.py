"""The code sandbox: model-written Python runs apart, a trusted judge runs the tests against its answers.

Two processes per run, wired by greentui with pipes:

* the **solution** (``child.py``) runs the model's program, walled off by :mod:`.isolation` (namespaces where
  the kernel allows, an unprivileged user, a read-only view of the filesystem with a private scratch folder,
  rlimits, and the :mod:`.seccomp_filter`). It never sees the tests; it only answers calls with plain data.
* the **judge** (``judge.py``) runs as greentui's user, outside the sandbox; it holds the tests (they reach it
  through its stdin, never through a file) and decides. See its docstring for how.

greentui supervises both: the item's wall-clock limit starts when the solution says hello (after its set-up, so a
busy machine's slow start does not eat the model's time; no model code runs before it), output is captured up to
``output_kb``, and at the end both process groups are killed (in namespaces, that ends every process the code
started).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any

from greentui.core.evaluate.sandbox import isolation as iso_mod
from greentui.core.evaluate.sandbox import seccomp_filter
from greentui.core.evaluate.sandbox.code_limits import CodeLimits, CodeRunResult
from greentui.core.evaluate.sandbox.confine import CPU_LIMIT_EXIT
from greentui.core.evaluate.sandbox.isolation import SANDBOX_DIR, SANDBOX_GID, SANDBOX_UID, Isolation
from greentui.core.evaluate.sandbox.processes import (
    close_fds,
    kill_group,
    kill_marked_processes,
    new_pipe,
    read_some,
    signal_name,
    tasks_of_user,
    wait_exit,
)

__all__ = ["CodeLimits", "CodeRunResult", "run_python_sandboxed"]

CHILD_PROGRAM = SANDBOX_DIR / "child.py"
JUDGE_PROGRAM = SANDBOX_DIR / "judge.py"
STARTUP_LIMIT_S = 30.0  # from spawn to the solution's hello: generous for a loaded machine; no model code yet
MAX_REPLY_BYTES = 16 << 20  # one answer of the solution, as the judge reads it


def run_python_sandboxed(
    code: str,
    tests: str,
    limits: CodeLimits | None = None,
    *,
    prelude: str | None = None,
    isolation: Isolation | None = None,
) -> CodeRunResult:
    """Run ``code`` in the sandbox and judge it with ``tests`` (asserts, or HumanEval's ``check``); ``prelude``
    is trusted task code the judge also runs (helpers the tests call). Never raises for anything the code does."""
    limits = limits or CodeLimits()
    iso = isolation or iso_mod.current()
    if iso.refusal is not None:
        return _failed(f"the code sandbox cannot run here: {iso.refusal}", iso)
    try:
        return _Run(code, tests, prelude, limits, iso).execute()
    except OSError as exc:  # a missing interpreter or tool, too many open files: the run could not start
        return _failed(f"the code sandbox could not start: {exc}", iso)


def _failed(detail: str, iso: Isolation) -> CodeRunResult:
    return CodeRunResult(False, detail, None, False, "", False, 0.0, "none", iso.describe())


class _Run:
    """One sandboxed run: spawn, supervise, collect."""

    def __init__(self, code: str, tests: str, prelude: str | None, limits: CodeLimits, iso: Isolation) -> None:
        self.code, self.tests, self.prelude, self.limits, self.iso = code, tests, prelude, limits, iso
        self.token = secrets.token_hex(6)
        self.output = bytearray()
        self.truncated = False
        self.messages: list[dict[str, Any]] = []
        self.judge_error = bytearray()

    def execute(self) -> CodeRunResult:
        host_scratch: str | None = None
        fds: list[int] = []
        procs: list[subprocess.Popen[bytes]] = []
        started = time.monotonic()
        try:
            if self.iso.namespaces:
                scratch = f"/tmp/greentui-sandbox-{self.token}"  # a private tmpfs inside the sandbox only
            else:
                scratch = host_scratch = tempfile.mkdtemp(prefix="greentui-sandbox-")
                if self.iso.as_root:
                    os.chown(scratch, SANDBOX_UID, SANDBOX_GID)
            out_r, out_w = new_pipe(fds)
            req_r, req_w = new_pipe(fds)
            rep_r, rep_w = new_pipe(fds)
            setup_r, setup_w = new_pipe(fds)
            ver_r, ver_w = new_pipe(fds)
            child = self._spawn_child(scratch, out_w, req_r, rep_w, setup_r)
            procs.append(child)
            close_fds(fds, out_w, req_r, rep_w, setup_r)
            cfg = self._child_config(scratch, rep_w, child.pid)
            with contextlib.suppress(OSError):
                os.write(setup_w, json.dumps(cfg).encode())
            close_fds(fds, setup_w)
            judge = self._spawn_judge(req_w, rep_r, ver_w)
            procs.append(judge)
            close_fds(fds, req_w, rep_r, ver_w)
            timed_out, hello_seen = self._supervise(child, judge, out_r, ver_r, started)
            verdict = self._verdict()
            if verdict.get("phase") == "gone" and not timed_out:  # its own exit status says how it stopped
                wait_exit(child, 1.0)
        finally:
            for proc in procs:
                kill_group(proc)
            if not self.iso.namespaces:
                kill_marked_processes(self.token)
            while fds:
                close_fds(fds, fds[-1])
            if host_scratch:
                shutil.rmtree(host_scratch, ignore_errors=True)
        wall_s = time.monotonic() - started
        exit_code = self._exit_code(child)
        hello: dict[str, Any] = next((m["hello"] for m in self.messages if isinstance(m.get("hello"), dict)), {})
        return CodeRunResult(
            passed=verdict.get("passed") is True and not timed_out,
            detail=self._detail(verdict, timed_out, hello_seen, exit_code),
            exit_code=exit_code,
            timed_out=timed_out,
            output=self.output.decode("utf-8", errors="replace"),
            output_truncated=self.truncated,
            wall_s=wall_s,
            process_cap=self._process_cap(hello),
            isolation=self.iso.describe(),
        )

    # -- spawning ------------------------------------------------------------------------------------------------

    def _spawn_child(self, scratch: str, out_w: int, req_r: int, rep_w: int, setup_r: int) -> subprocess.Popen[bytes]:
        python = [iso_mod.interpreter(), "-I", "-S", "-B", "-X", "utf8", str(CHILD_PROGRAM), str(setup_r)]
        user: dict[str, Any] = {}
        if self.iso.backend == "bwrap":
            argv = [*iso_mod.bwrap_args(self.iso, self._plan(scratch)), "--", *python]
        elif self.iso.backend == "unshare":
            argv = [*iso_mod.unshare_args(self.iso), "--", *python]
        else:
            argv = python
            if self.iso.as_root:  # never run model code as root: become nobody before exec
                user = {"user": SANDBOX_UID, "group": SANDBOX_GID, "extra_groups": []}
        env = {
            "HOME": scratch,
            "TMPDIR": scratch,
            "TMP": scratch,
            "TEMP": scratch,
            "PATH": os.defpath,
            "LANG": "C.UTF-8",
            "GREENTUI_SANDBOX": self.token,  # finds strays where no pid namespace holds them
        }
        return subprocess.Popen(
            argv,
            stdin=req_r,
            stdout=out_w,
            stderr=out_w,
            pass_fds=(rep_w, setup_r),
            env=env,
            cwd=scratch if not self.iso.namespaces else "/",
            start_new_session=True,
            umask=0o022,
            **user,
        )

    def _plan(self, scratch: str) -> iso_mod.MountPlan:
        return iso_mod.mount_plan(scratch, max(self.limits.file_mb, 1) << 21)  # room for two full-size files

    def _child_config(self, scratch: str, rep_w: int, pid: int) -> dict[str, Any]:
        limits = self.limits
        bpf = None
        if self.iso.seccomp:  # it compiled when probed; failing now is an error, never a silent "no filter"
            own_pid = 1 if self.iso.namespaces else pid  # bwrap --as-pid-1 / unshare --fork: pid 1
            try:
                compiled = seccomp_filter.compile_filter(
                    own_pid, allow_fork=limits.max_processes > 0, allow_unix_sockets=self.iso.namespaces
                )
            except (seccomp_filter.SeccompUnavailable, OSError) as exc:
                raise OSError(f"the seccomp filter could not be built: {exc}") from None
            bpf = compiled.bpf.hex()
        target_uid = SANDBOX_UID if self.iso.as_root else os.getuid()
        nproc = None
        if limits.max_processes > 0 or bpf is None:
            nproc = tasks_of_user(target_uid) + max(limits.max_processes, 0)
        return {
            "reply_fd": rep_w,
            "scratch": scratch,
            "cpu_s": self._cpu_s(),
            "memory_bytes": limits.memory_mb << 20,
            "file_bytes": limits.file_mb << 20,
            "nproc": nproc,
            "drop_to": [SANDBOX_UID, SANDBOX_GID] if self.iso.as_root and self.iso.namespaces else None,
            "user_namespace": self.iso.user_namespace,
            "mounts": _plan_dict(self._plan(scratch)) if self.iso.backend == "unshare" else None,
            "mounts_by": self.iso.backend,
            "seccomp_bpf": bpf,
        }

    def _cpu_s(self) -> int:
        cpu_s = self.limits.cpu_s if self.limits.cpu_s is not None else self.limits.timeout_s
        return max(1, round(cpu_s))

    def _spawn_judge(self, req_w: int, rep_r: int, ver_w: int) -> subprocess.Popen[bytes]:
        fds = {"request_fd": req_w, "reply_fd": rep_r, "verdict_fd": ver_w}
        return subprocess.Popen(
            [iso_mod.interpreter(), "-I", "-S", "-B", "-X", "utf8", str(JUDGE_PROGRAM), json.dumps(fds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(req_w, rep_r, ver_w),
            env={"PATH": os.defpath, "LANG": "C.UTF-8"},
            cwd="/",
            start_new_session=True,
        )

    # -- supervision ---------------------------------------------------------------------------------------------

    def _supervise(
        self, child: subprocess.Popen[bytes], judge: subprocess.Popen[bytes], out_r: int, ver_r: int, started: float
    ) -> tuple[bool, bool]:
        """Pump output, the job and the judge's messages until the verdict or the deadline; (timed out, hello)."""
        assert judge.stdin is not None and judge.stderr is not None
        job = json.dumps(
            {
                "tests": self.tests,
                "prelude": self.prelude,
                "solution": self.code,
                "max_reply_bytes": MAX_REPLY_BYTES,
                "expect": {"seccomp": self.iso.seccomp, "not_root": self.iso.as_root, "no_capabilities": True},
                "judge_memory_bytes": (max(self.limits.memory_mb, 256) << 20) + (MAX_REPLY_BYTES * 16),
            }
        ).encode()
        sel = selectors.DefaultSelector()
        for fd in (out_r, ver_r, judge.stderr.fileno()):
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        stdin_fd = judge.stdin.fileno()
        os.set_blocking(stdin_fd, False)
        sel.register(stdin_fd, selectors.EVENT_WRITE)
        pending = memoryview(job)
        verdict_buffer = bytearray()
        deadline = started + STARTUP_LIMIT_S
        hello_seen = False
        try:
            while not any("verdict" in m for m in self.messages):
                now = time.monotonic()
                if now >= deadline:
                    return True, hello_seen
                if not sel.get_map():
                    break
                for key, _ in sel.select(timeout=min(deadline - now, 0.5)):
                    fd = key.fd
                    if fd == stdin_fd:
                        pending = self._feed(sel, judge.stdin, pending)
                        continue
                    chunk = read_some(fd)
                    if chunk is None:
                        continue
                    if not chunk:
                        sel.unregister(fd)
                        continue
                    if fd == out_r:
                        self._capture(chunk)
                    elif fd == ver_r:
                        verdict_buffer.extend(chunk[: 1 << 20])
                        self._parse_messages(verdict_buffer)
                    else:
                        self.judge_error.extend(chunk[: 4096 - len(self.judge_error)])
                if not hello_seen and any("hello" in m for m in self.messages):
                    hello_seen = True
                    deadline = time.monotonic() + self.limits.timeout_s
                if judge.poll() is not None and ver_r not in sel.get_map():
                    break
            return False, hello_seen
        finally:
            self._drain(sel, out_r)
            sel.close()
            with contextlib.suppress(OSError):
                judge.stdin.close()

    def _feed(self, sel: selectors.BaseSelector, stdin: Any, pending: memoryview) -> memoryview:
        try:
            written = os.write(stdin.fileno(), pending)
        except BlockingIOError:
            return pending
        except OSError:
            written = len(pending)
        pending = pending[written:]
        if not pending:
            sel.unregister(stdin.fileno())
            stdin.close()
        return pending

    def _capture(self, chunk: bytes) -> None:
        room = (self.limits.output_kb << 10) - len(self.output)
        self.output.extend(chunk[: max(room, 0)])
        self.truncated = self.truncated or len(chunk) > room

    def _drain(self, sel: selectors.BaseSelector, out_r: int) -> None:
        """What the solution wrote just before the end (non-blocking: strays may hold the pipe open)."""
        if out_r not in sel.get_map():
            return
        for _ in range(64):
            chunk = read_some(out_r)
            if not chunk:  # None (nothing more now) or b"" (end)
                return
            self._capture(chunk)

    def _parse_messages(self, buffer: bytearray) -> None:
        while (end := buffer.find(b"\n")) >= 0:
            line = bytes(buffer[:end])
            del buffer[: end + 1]
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                if isinstance(message, dict):
                    self.messages.append(message)

    # -- results -------------------------------------------------------------------------------------------------

    def _verdict(self) -> dict[str, Any]:
        found: dict[str, Any] | None = next(
            (m["verdict"] for m in self.messages if isinstance(m.get("verdict"), dict)), None
        )
        if found is not None:
            return found
        said = self.judge_error.decode("utf-8", errors="replace").strip().splitlines()
        return {"passed": False, "phase": "judge", "detail": f"the judge failed: {said[-1] if said else 'no verdict'}"}

    def _exit_code(self, child: subprocess.Popen[bytes]) -> int | None:
        code = child.returncode
        if self.iso.backend == "bwrap" and code is not None and code > 128:
            return -(code - 128)  # bubblewrap reports a signal as 128 + its number
        return code

    def _detail(self, verdict: dict[str, Any], timed_out: bool, hello_seen: bool, exit_code: int | None) -> str:
        if timed_out:
            if not hello_seen:
                return f"the sandbox did not start within {STARTUP_LIMIT_S:g} s"
            return f"killed at the {self.limits.timeout_s:g} s wall-clock limit"
        if verdict.get("passed") is True:
            return "passed"
        if verdict.get("phase") == "gone":
            if exit_code in (CPU_LIMIT_EXIT, -signal.SIGXCPU):
                return f"stopped at the {self._cpu_s()} s CPU-time limit"
            if exit_code is not None and exit_code < 0:
                name = signal_name(-exit_code)
                hint = {"SIGXFSZ": " (file-size limit)", "SIGKILL": " (the CPU-time or memory limit)"}.get(name, "")
                return f"killed by {name}{hint}"
            return f"exited with status {exit_code} before the tests finished"
        if verdict.get("phase") == "setup":
            said = self.output.decode("utf-8", errors="replace").strip().splitlines()
            last = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in said[-1][:200]) if said else ""
            return str(verdict.get("detail", "")) + (f" ({last})" if last else "")
        return str(verdict.get("detail", "failed"))

    def _process_cap(self, hello: dict[str, Any]) -> str:
        if hello.get("seccomp") is True:
            return "seccomp"
        uid = hello.get("uid")
        return "rlimit" if isinstance(uid, int) and uid != 0 else "none"


def _plan_dict(plan: iso_mod.MountPlan) -> dict[str, Any]:
    return {
        "hide": list(plan.hide),
        "keep": list(plan.keep),
        "scratch": plan.scratch,
        "scratch_bytes": plan.scratch_bytes,
    }
