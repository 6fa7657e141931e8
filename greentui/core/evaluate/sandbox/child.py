"""The program that runs inside the code sandbox's process (``python -I -B -X utf8 child.py CONFIG``).

It is started by path, never imported by greentui's own process, and uses the standard library only (``-I`` keeps
greentui and site-packages out of its ``sys.path``). It sets the limits on itself before the model's code runs, then
executes ``solution.py`` and ``tests.py`` in one namespace whose ``__name__`` is not ``"__main__"`` (so a model's demo
block does not run), and reports through a private pipe with a nonce: exiting 0 early (``os._exit(0)``, ``sys.exit``
in the solution) never counts as passing.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys
import traceback
from typing import Any, TextIO

# Classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
_LD, _JEQ, _JSET, _RET = 0x20, 0x15, 0x45, 0x06
_ALLOW, _EPERM, _ENOSYS, _KILL = 0x7FFF0000, 0x50001, 0x50026, 0x80000000
_ARCHES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (
        0xC000003E,
        {
            "fork": 57,
            "vfork": 58,
            "clone": 56,
            "kill": 62,
            "tkill": 200,
            "tgkill": 234,
            "ptrace": 101,
            "setrlimit": 160,
            "prlimit64": 302,
            "pvr": 310,
            "pvw": 311,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "clone": 220,
            "kill": 129,
            "tkill": 130,
            "tgkill": 131,
            "ptrace": 117,
            "setrlimit": 164,
            "prlimit64": 261,
            "pvr": 270,
            "pvw": 271,
        },
    ),
}


def limit(name: str, value: int, hard: int | None = None) -> None:
    """Set the resource limit ``name`` (soft ``value``, hard ``hard`` or the same) where this OS has it."""
    res = getattr(resource, name, None)
    if res is not None:
        try:
            resource.setrlimit(res, (value, value if hard is None else hard))
        except (ValueError, OSError):
            pass


def tasks_of_my_uid() -> int | None:
    """Tasks (threads) of the real user, as RLIMIT_NPROC counts them; None where /proc cannot tell."""
    n, uid = 0, os.getuid()
    if not os.path.isdir("/proc"):
        return None
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat("/proc/" + pid).st_uid == uid:
                    n += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
    return n


def seccomp_program(machine: str, pid: int, *, allow_fork: bool) -> list[tuple[int, int, int, int]] | None:
    """The BPF program (code, jump-if-true, jump-if-false, k) for ``machine``; None for an unknown architecture."""
    arch = _ARCHES.get(machine)
    if arch is None:
        return None
    audit, nr = arch
    deny = [nr[k] for k in ("tkill", "ptrace", "setrlimit", "prlimit64", "pvr", "pvw") if k in nr] + [424]
    if not allow_fork:
        deny += [nr[k] for k in ("fork", "vfork") if k in nr]
    # Over struct seccomp_data: nr at offset 0, arch at 4, args[0] at 16 (low word) and 20 (high).
    # Jumps skip that many instructions. Wrong arch or the x32 ABI: kill.
    prog = [
        (_LD, 0, 0, 4),
        (_JEQ, 1, 0, audit),
        (_RET, 0, 0, _KILL),
        (_LD, 0, 0, 0),
        (_JSET, 0, 1, 0x40000000),
        (_RET, 0, 0, _KILL),
    ]
    for number in deny:
        prog += [(_JEQ, 0, 1, number), (_RET, 0, 0, _EPERM)]
    if not allow_fork:  # clone3 cannot be inspected: ENOSYS makes libc fall back to clone
        prog += [
            (_JEQ, 0, 1, 435),
            (_RET, 0, 0, _ENOSYS),
            (_JEQ, 0, 4, nr["clone"]),
            (_LD, 0, 0, 16),
            (_JSET, 0, 1, 0x10000),
            (_RET, 0, 0, _ALLOW),  # threads
            (_RET, 0, 0, _EPERM),
        ]
    # kill/tgkill: only this process may be signalled
    prog += [
        (_JEQ, 1, 0, nr["kill"]),
        (_JEQ, 0, 5, nr["tgkill"]),
        (_LD, 0, 0, 16),
        (_JEQ, 0, 2, pid),
        (_LD, 0, 0, 20),
        (_JEQ, 1, 0, 0),
        (_RET, 0, 0, _EPERM),
        (_RET, 0, 0, _ALLOW),
    ]
    return prog


def seccomp(allow_fork: bool) -> bool:
    """Install the filter on this process; False when the kernel or architecture does not allow it."""
    prog = seccomp_program(os.uname().machine, os.getpid(), allow_fork=allow_fork)
    if prog is None:
        return False

    class Filter(ctypes.Structure):
        _fields_ = [
            ("code", ctypes.c_ushort),
            ("jt", ctypes.c_ubyte),
            ("jf", ctypes.c_ubyte),
            ("k", ctypes.c_uint32),
        ]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    array = (Filter * len(prog))(*[Filter(*instruction) for instruction in prog])
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    return bool(libc.prctl(22, 2, ctypes.byref(Program(len(prog), array)), 0, 0) == 0)  # PR_SET_SECCOMP, FILTER


def cap_processes(max_processes: int) -> str:
    """Limit new processes as ``max_processes`` asks; returns how: "seccomp", "rlimit" or "none"."""
    cap = "none"
    running = tasks_of_my_uid() if hasattr(resource, "RLIMIT_NPROC") else None
    if max_processes > 0 and running is not None:  # before seccomp, which refuses setrlimit
        limit("RLIMIT_NPROC", running + max_processes)
        cap = "rlimit" if os.getuid() != 0 else "none"
    try:
        if seccomp(max_processes > 0) and max_processes == 0:
            cap = "seccomp"
    except Exception:
        pass
    if cap == "none" and max_processes == 0 and running is not None:
        limit("RLIMIT_NPROC", running)  # no seccomp: no new process (or thread) for non-root users
        cap = "rlimit" if os.getuid() != 0 else "none"
    return cap


def run_files(status: TextIO, nonce: str) -> None:
    """Execute solution.py then tests.py in one namespace; report ``ok NONCE`` or ``fail NONCE PHASE WHAT``."""
    namespace: dict[str, Any] = {"__name__": "solution", "__builtins__": __builtins__}
    phase = "solution"
    try:
        for phase in ("solution", "tests"):
            with open(phase + ".py", encoding="utf-8") as handle:
                source = handle.read()
            exec(compile(source, phase + ".py", "exec"), namespace)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as exc:
        frames = [fr for fr in traceback.extract_tb(exc.__traceback__) if fr.filename in ("solution.py", "tests.py")]
        where = f" at {frames[-1].filename}:{frames[-1].lineno}: {frames[-1].line}" if frames else ""
        what = f"{type(exc).__name__}: {exc}".rstrip(": ")[:200]
        status.write(f"fail {nonce} {phase} {what}{where}\n")
        traceback.print_exc()
        sys.exit(1)
    status.write(f"ok {nonce}\n")


def main(argv: list[str]) -> None:
    cfg = json.loads(argv[1])
    status = os.fdopen(cfg["status_fd"], "w", buffering=1)
    nonce = os.environ.pop("GREENTUI_SANDBOX_NONCE")
    limit("RLIMIT_CPU", cfg["cpu_s"], cfg["cpu_s"] + 1)  # SIGXCPU first, SIGKILL 1 s later
    limit("RLIMIT_AS", cfg["memory_bytes"])
    limit("RLIMIT_FSIZE", cfg["file_bytes"])
    limit("RLIMIT_CORE", 0)
    limit("RLIMIT_NOFILE", 256)
    status.write(f"cap {cap_processes(cfg['max_processes'])}\n")
    run_files(status, nonce)


if __name__ == "__main__":
    main(sys.argv)
