"""Small process and pipe helpers for the sandboxes' supervisors (greentui's side, never inside a sandbox)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def new_pipe(fds: list[int]) -> tuple[int, int]:
    r, w = os.pipe()
    fds += [r, w]
    return r, w


def close_fds(fds: list[int], *which: int) -> None:
    for fd in which:
        if fd in fds:
            fds.remove(fd)
            with contextlib.suppress(OSError):
                os.close(fd)


def read_some(fd: int) -> bytes | None:
    """Up to 64 KiB; b"" at end of file (or a broken pipe), None when nothing is there yet."""
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def wait_exit(proc: subprocess.Popen[bytes], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not has_exited(proc):
        time.sleep(0.01)


def kill_group(proc: subprocess.Popen[bytes], settle_s: float = 2.0) -> None:
    """Kill the process group while its leader is unreaped (so the id cannot have been reused), reap the leader,
    and wait (up to ``settle_s``) until no member is left: the processes of a pid namespace die after its init,
    a moment after the leader, and a caller must find them gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    end = time.monotonic() + settle_s
    while group_members(proc.pid) and time.monotonic() < end:
        time.sleep(0.005)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``, from /proc (empty where there is none)."""
    members = []
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] not in (b"Z", b"X"):
                members.append(int(name))
    return members


def has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """True when the process has exited, without reaping it (so killpg still targets its group)."""
    if hasattr(os, "waitid"):
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None
    return proc.poll() is not None


def tasks_of_user(uid: int) -> int:
    """Tasks (threads) of ``uid`` on this machine, as RLIMIT_NPROC counts them; 0 where /proc cannot tell."""
    count = 0
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        return 0
    for entry in proc_dir.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(entry / "task"))
    return count


def kill_marked_processes(token: str, rounds: int = 20) -> int:
    """Kill processes that left the group but still carry this run's marker (no pid namespace here)."""
    marker = f"GREENTUI_SANDBOX={token}".encode()
    proc_dir = Path("/proc")
    if not proc_dir.is_dir() or sys.platform == "win32":
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


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
