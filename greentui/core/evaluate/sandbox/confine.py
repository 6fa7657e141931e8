"""What ``child.py`` does to itself before any model code runs: mounts, user, limits, seccomp.

Loaded by path inside the sandbox (standard library only, Linux calls through ``ctypes``). Every step fails
closed: an error here ends the child before the model's code is loaded, and the judge reports that the sandbox
did not start.

Order matters: the mounts need (namespace) root; the user is dropped next; limits follow (a dropped user cannot
raise them); the seccomp filter is last, because it forbids the calls the earlier steps make.
"""

from __future__ import annotations

import ctypes
import errno
import math
import os
import resource
import signal

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs every sandboxed item
if TYPE_CHECKING:
    from typing import Any

# <sys/mount.h>
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
# statvfs f_flag -> the mount flag a remount must repeat (flags locked by a user namespace must be kept)
_KEPT_FLAGS = {2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME, 2048: MS_NODIRATIME, 4096: MS_RELATIME}
# <linux/prctl.h>
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS = 1, 4, 22, 38
SECCOMP_MODE_FILTER = 2
_CAPABILITY_VERSION_3 = 0x20080522

_libc: Any = None


class ConfineError(RuntimeError):
    """A confinement step failed; the message names it."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno


def libc() -> Any:
    """The C library, loaded once, with errno kept."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise ConfineError(f"{what}: {os.strerror(err)}", err)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(libc().mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def mount_points() -> list[str]:
    """Every mount point this mount namespace shows, parents first (from /proc/self/mountinfo)."""
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as handle:
        for line in handle:
            fields = line.split(" ")
            if len(fields) > 4:
                points.append(_unescape(fields[4]))
    return sorted(set(points), key=lambda p: (p.count("/"), p))


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _kept_flags(path: str) -> int:
    flags = 0
    try:
        f_flag = os.statvfs(path).f_flag
    except OSError:
        return 0
    for bit, mount_flag in _KEPT_FLAGS.items():
        if f_flag & bit:
            flags |= mount_flag
    return flags


def remount_readonly(path: str) -> None:
    mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(path))


def is_readonly(path: str) -> bool:
    return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


def lay_out_mounts(plan: dict[str, Any], owner: tuple[int, int] | None) -> None:
    """In a fresh mount namespace: the whole tree read-only, ``hide`` covered by empty read-only tmpfs, ``keep``
    bound back inside them, ``scratch`` a private writable tmpfs (owned by ``owner`` when root drops to it)."""
    os.umask(0o022)
    hide, keep, scratch = list(plan["hide"]), list(plan["keep"]), str(plan["scratch"])
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we do here propagates to the host
    handles = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in keep}  # before anything covers them
    points = mount_points()
    for point in points:
        try:
            remount_readonly(point)
        except ConfineError as exc:
            # EINVAL: the path is no longer a mount point (a mount covered by another, such as the old /proc's
            # submounts under the new /proc); ENOENT/EACCES: unreachable. What is reachable is checked below.
            if exc.errno not in (errno.EINVAL, errno.ENOENT, errno.EACCES):
                raise
    ops = [("hide", p) for p in hide] + [("keep", p) for p in keep] + [("scratch", scratch)]
    for kind, path in sorted(ops, key=lambda op: (op[1].count("/"), op[1])):
        if kind == "hide":
            if not os.path.isdir(path):
                continue
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=0755")
        elif kind == "keep":
            _mount_point_for(path, is_dir=os.path.isdir(f"/proc/self/fd/{handles[path]}"))
            mount(f"/proc/self/fd/{handles[path]}", path, None, MS_BIND | MS_REC)
            remount_readonly(path)
        else:
            os.makedirs(path, mode=0o755, exist_ok=True)
            size = int(plan["scratch_bytes"])
            options = f"size={size},mode=0700" + (f",uid={owner[0]},gid={owner[1]}" if owner else "")
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options)
    for path in hide:
        if os.path.isdir(path):
            remount_readonly(path)
    for handle in handles.values():
        os.close(handle)
    bad = [p for p in ["/", *points, *hide] if p != scratch and _writable_mount(p)]
    if bad or is_readonly(scratch):
        raise ConfineError(f"mounts not as planned: {', '.join(bad) or scratch}")


def _writable_mount(path: str) -> bool:
    try:
        return not is_readonly(path)
    except OSError:  # unreachable
        return False


def _mount_point_for(path: str, *, is_dir: bool) -> None:
    if os.path.lexists(path):
        return
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    if is_dir:
        os.mkdir(path, 0o755)
    else:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def drop_user(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` for good (real, effective and saved), with no supplementary groups."""
    try:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        raise ConfineError(f"cannot become user {uid}: {exc.strerror}") from None
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise ConfineError(f"still not user {uid} after dropping")


def drop_capabilities() -> None:
    """Clear every capability (namespace root of a user namespace keeps its uid 0 but loses its powers)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    data = (Data * 2)()
    _check(libc().capset(ctypes.byref(Header(_CAPABILITY_VERSION_3, 0)), data), "capset")


def effective_capabilities() -> int | None:
    """CapEff from /proc/self/status; None where it cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return None


def set_limit(name: str, soft: int, hard: int | None = None) -> None:
    """Set a resource limit where this OS has it; failing to *lower* a limit is an error."""
    res = getattr(resource, name, None)
    if res is None:
        return
    try:
        resource.setrlimit(res, (soft, soft if hard is None else hard))
    except (ValueError, OSError) as exc:
        raise ConfineError(f"cannot set {name}: {exc}") from None


CPU_LIMIT_EXIT = 152  # the status with which the child ends at its CPU-time limit (128 + SIGXCPU)


def _out_of_cpu(_signum: int, _frame: object) -> None:
    os._exit(CPU_LIMIT_EXIT)


def set_limits(cfg: dict[str, Any]) -> None:
    """CPU seconds from now (the set-up's own time is not the model's), memory, file size, files, cores, tasks.

    At the soft CPU limit the child ends with :data:`CPU_LIMIT_EXIT` (as a pid namespace's first process it
    would otherwise ignore SIGXCPU); at the hard limit a second later the kernel kills it whatever it did.
    """
    signal.signal(signal.SIGXCPU, _out_of_cpu)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = math.ceil(usage.ru_utime + usage.ru_stime + float(cfg["cpu_s"]))
    set_limit("RLIMIT_CPU", cpu_s, cpu_s + 1)  # SIGXCPU first, SIGKILL a second later
    set_limit("RLIMIT_AS", int(cfg["memory_bytes"]))
    set_limit("RLIMIT_FSIZE", int(cfg["file_bytes"]))
    set_limit("RLIMIT_CORE", 0)
    set_limit("RLIMIT_NOFILE", 64)
    if cfg.get("nproc") is not None:
        set_limit("RLIMIT_NPROC", int(cfg["nproc"]))


def prctl(option: int, value: int, what: str) -> None:
    _check(libc().prctl(option, ctypes.c_ulong(value), 0, 0, 0), what)


def die_with_parent() -> None:
    """Changing the user clears the parent-death signal that unshare/bwrap set; set it again."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL, "PR_SET_PDEATHSIG")


def not_dumpable() -> None:
    """No core files, and processes of the same user cannot open this one's /proc memory or files."""
    prctl(PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE")


def load_seccomp(bpf: bytes) -> None:
    """Install a compiled filter (struct sock_filter[]) on this process and every thread it starts later."""
    if not bpf or len(bpf) % 8:
        raise ConfineError("a malformed seccomp filter")

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(bpf, len(bpf))
    program = Program(len(bpf) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    prctl(PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")
    _check(libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0), "seccomp")
