"""The code sandbox's seccomp filter, built from syscall *names* with libseccomp (through ``pyseccomp``).

greentui builds the filter in its own process and hands the compiled BPF program to the sandboxed child, which
loads it with ``prctl`` just before the model's code runs (so the child needs no library for it). libseccomp
resolves each name for this machine's architecture, checks the architecture of every call (a call through another
ABI, such as ``int 0x80`` or x32 on x86-64, kills the process) and compiles the rules.

The default is to allow: the namespaces, the unprivileged user and the rlimits are the walls; this filter takes
away the calls that would reach through them or that a test answer never needs. Refused with EPERM:

* signals to any process but the child itself: ``kill``, ``tgkill``, ``rt_sigqueueinfo`` and
  ``rt_tgsigqueueinfo`` unless their target is the child's own pid; ``tkill``, ``pidfd_send_signal``,
  ``pidfd_open`` and ``pidfd_getfd`` always;
* reaching into other processes: ``ptrace``, ``process_vm_readv``/``process_vm_writev``, ``kcmp``;
* the filesystem and namespace layout: ``mount``, ``umount2``, ``pivot_root``, ``chroot``, the new mount API
  (``open_tree``, ``move_mount``, ``fsopen``, ``fsconfig``, ``fsmount``, ``fspick``, ``mount_setattr``),
  ``setns``, ``unshare``;
* new processes: ``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD`` (threads stay possible), ``clone`` with
  any namespace flag, ``execve``/``execveat`` (the child's one ``exec`` happened before the filter);
  ``clone3`` answers ENOSYS (its flags sit in memory a filter cannot read; libc then falls back to ``clone``);
* leaving the process group the supervisor kills: ``setsid``, ``setpgid``;
* changing identity or limits: the ``set*id`` family, ``setgroups``, ``capset``, ``setrlimit``, ``prlimit64``
  except reading one's own limits;
* sockets of any family but AF_UNIX (all of them without a network namespace), ``io_uring_*`` (it would run
  those calls where no filter sees them), and ``bpf``, ``perf_event_open``, ``userfaultfd``, the key ring, file
  handles, modules, ``kexec``, ``reboot``, swap, clocks and accounting.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import tempfile
from dataclasses import dataclass
from typing import Any

CLONE_THREAD = 0x00010000
CLONE_NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
AF_UNIX = 1

SIGNALS_TO_SELF_ONLY = ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
ALWAYS_REFUSED = (
    # signals without a checkable target, and handles to other processes
    "tkill",
    "pidfd_send_signal",
    "pidfd_open",
    "pidfd_getfd",
    # other processes' memory
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    # mounts and namespaces
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "setns",
    "unshare",
    # programs and process groups
    "execve",
    "execveat",
    "setsid",
    "setpgid",
    # identity and limits
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setfsuid",
    "setfsgid",
    "setgroups",
    "capset",
    "setrlimit",
    # calls that bypass or widen the kernel's checks
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "open_by_handle_at",
    "name_to_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
)
PROCESS_CREATION = ("fork", "vfork")


class SeccompUnavailable(RuntimeError):
    """pyseccomp or libseccomp is missing, or this architecture is unknown to it; the message says which."""


@dataclass(frozen=True)
class CompiledFilter:
    bpf: bytes  # struct sock_filter[]: what the child loads with prctl(PR_SET_SECCOMP)
    library: str  # e.g. "libseccomp 2.5.4 (pyseccomp 0.1.2)"
    refused: tuple[str, ...]  # the syscall names covered (those this architecture has)


def _library() -> Any:
    try:
        import pyseccomp
    except (ImportError, RuntimeError, OSError) as exc:  # RuntimeError: pyseccomp found no libseccomp
        raise SeccompUnavailable(f"no libseccomp bindings ({type(exc).__name__}: {exc})") from None
    return pyseccomp


@functools.lru_cache(maxsize=16)
def compile_filter(own_pid: int, *, allow_fork: bool, allow_unix_sockets: bool) -> CompiledFilter:
    """The filter for a child whose pid (as it sees itself) is ``own_pid``; raises :class:`SeccompUnavailable`."""
    lib = _library()  # pyseccomp publishes no type information
    eperm: int = lib.ERRNO(errno.EPERM)
    flt = lib.SyscallFilter(lib.ALLOW)
    flt.set_attr(lib.Attr.ACT_BADARCH, lib.KILL_PROCESS)
    covered: list[str] = []

    def rule(action: int, name: str, *args: object) -> None:
        number = lib.resolve_syscall(lib.Arch.NATIVE, name)
        if number < 0:  # not a call of this architecture (iopl on aarch64, fork on aarch64...)
            return
        flt.add_rule(action, name, *args)
        if name not in covered:
            covered.append(name)

    arg, ne, masked_eq = lib.Arg, lib.NE, lib.MASKED_EQ
    for name in SIGNALS_TO_SELF_ONLY:
        rule(eperm, name, arg(0, ne, own_pid))
    for name in ALWAYS_REFUSED:
        rule(eperm, name)
    rule(eperm, "prlimit64", arg(0, ne, 0))  # another process's limits
    rule(eperm, "prlimit64", arg(2, ne, 0))  # setting (not only reading) a limit
    for flag in CLONE_NAMESPACE_FLAGS:
        rule(eperm, "clone", arg(0, masked_eq, flag, flag))
    if not allow_fork:
        for name in PROCESS_CREATION:
            rule(eperm, name)
        rule(eperm, "clone", arg(0, masked_eq, CLONE_THREAD, 0))
    rule(lib.ERRNO(errno.ENOSYS), "clone3")
    if allow_unix_sockets:
        rule(eperm, "socket", arg(0, ne, AF_UNIX))
    else:
        rule(eperm, "socket")
    with tempfile.TemporaryFile() as handle:
        flt.export_bpf(handle)
        handle.seek(0)
        bpf = handle.read()
    if not bpf or len(bpf) % 8:
        raise SeccompUnavailable("libseccomp exported no filter")
    return CompiledFilter(bpf, _describe_library(lib), tuple(covered))


def _describe_library(lib: Any) -> str:
    """E.g. "libseccomp 2.5.4 (pyseccomp 0.1.2)": the C library's own version where it reports one."""
    version = "?"
    native = getattr(lib, "_libseccomp", None)
    get_version = getattr(native, "seccomp_version", None)
    if get_version is not None:
        get_version.restype = ctypes.POINTER(ctypes.c_uint * 3)
        parts = get_version()
        if parts:
            version = ".".join(str(n) for n in parts.contents)
    return f"libseccomp {version} (pyseccomp {getattr(lib, '__version__', '?')})"


def available() -> tuple[bool, str]:
    """Whether a filter can be built here, and the library (or why not), in a few words."""
    try:
        compiled = compile_filter(1, allow_fork=False, allow_unix_sockets=True)
    except SeccompUnavailable as exc:
        return False, str(exc)
    except OSError as exc:
        return False, f"libseccomp refused the filter ({exc})"
    if not os.path.exists("/proc/self/status") or "Seccomp:" not in _read("/proc/self/status"):
        return False, "this kernel has no seccomp"
    return True, compiled.library


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""
