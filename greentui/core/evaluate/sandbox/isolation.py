"""How the code sandbox walls model code off on this machine: which mechanism works here, and what it cannot stop.

Three mechanisms, the first that works is used (``GREENTUI_SANDBOX_BACKEND=bwrap|unshare|none`` forces one):

* ``bwrap`` (bubblewrap, where installed): new pid, network, mount, ipc, uts (and cgroup) namespaces; the host
  filesystem bound read-only; homes, temporary folders, ``/run``, site-packages and greentui's own checkout
  covered by empty read-only tmpfs (the interpreter and the sandbox's scripts bound back read-only); a private,
  size-capped tmpfs as the only writable folder.
* ``unshare`` (util-linux): the same namespaces; ``child.py`` itself lays out the same mounts before it drops
  its privileges.
* ``none``: no namespaces (a container that forbids them): the child still runs as an unprivileged user with
  seccomp and rlimits, and the sandbox says "limited" and what it then cannot stop.

Run as root, greentui never runs model code as root: the child becomes user and group ``nobody`` (65534) with no
supplementary groups. Run as another user, the child keeps that user (inside a user namespace where available).
"""

from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from greentui.core.evaluate.sandbox import seccomp_filter

SANDBOX_UID = 65534  # nobody
SANDBOX_GID = 65534  # nogroup
BACKEND_ENV = "GREENTUI_SANDBOX_BACKEND"
BACKENDS = ("bwrap", "unshare", "none")
SANDBOX_DIR = Path(__file__).resolve().parent  # child.py and the modules it loads by path

# Covered by an empty read-only tmpfs inside the sandbox: where people keep files, and where anyone may write.
HIDDEN_DIRS = ("/root", "/home", "/tmp", "/var/tmp", "/dev/shm", "/run", "/mnt", "/media", "/srv")
# Never covered, whatever the configuration says: the system itself.
SYSTEM_DIRS = frozenset(
    {"/", "/usr", "/usr/lib", "/usr/lib64", "/usr/local", "/usr/local/lib", "/usr/bin", "/usr/share", "/lib"}
    | {"/lib64", "/lib32", "/bin", "/sbin", "/etc", "/var", "/var/lib", "/opt", "/proc", "/sys", "/dev"}
)


@dataclass(frozen=True)
class MountPlan:
    """The sandbox's view of the filesystem (the same for bubblewrap and for ``child.py``'s own mounts)."""

    hide: tuple[str, ...]  # each covered by an empty read-only tmpfs
    keep: tuple[str, ...]  # bound back read-only inside a hidden folder (the interpreter, the sandbox's scripts)
    scratch: str  # the private writable tmpfs, also HOME and TMPDIR
    scratch_bytes: int

    def ordered(self) -> list[tuple[str, str]]:
        """(kind, path) in the order to mount them: parents before children."""
        ops = [("hide", p) for p in self.hide] + [("keep", p) for p in self.keep] + [("scratch", self.scratch)]
        return sorted(ops, key=lambda op: (op[1].count("/"), op[1]))

    def covering(self, path: str) -> str | None:
        """The hidden folder ``path`` lies in (the deepest), or None."""
        found = [h for h in self.hide if _inside(path, h) and path != h]
        return max(found, key=len) if found else None


@dataclass(frozen=True)
class Isolation:
    """What confines model code here; ``describe()`` is the one line doctor and the session show."""

    backend: str  # "bwrap" | "unshare" | "none"
    tool: str = ""  # path of bwrap or unshare
    tool_version: str = ""
    as_root: bool = False  # greentui runs as root: the child becomes SANDBOX_UID
    seccomp: bool = False
    seccomp_note: str = ""  # the library, or why there is no filter
    why_no_namespaces: tuple[str, ...] = ()  # per mechanism tried
    refusal: str | None = None  # set when model code cannot run safely here at all
    user_namespace: bool = False

    @property
    def namespaces(self) -> bool:
        return self.backend != "none"

    @property
    def limited(self) -> bool:
        return not self.namespaces or not self.seccomp or self.refusal is not None

    def user(self) -> str:
        if self.as_root:
            return f"user {SANDBOX_UID} (nobody), no groups"
        return "your user" + (" in a user namespace without capabilities" if self.user_namespace else "")

    def cannot_stop(self) -> tuple[str, ...]:
        """What model code can still do here, in plain words (empty when fully isolated)."""
        if self.namespaces:
            if self.seccomp:
                return ()
            return (  # walled in, but with every kernel interface of an unprivileged process
                "creating processes inside its namespaces (only RLIMIT_NPROC caps them)",
                "using kernel interfaces the filter refuses (io_uring, bpf, new user namespaces)",
            )
        who = "any user" if self.as_root else "your user"
        gaps = [
            f"reading files {who} may read",
            f"writing where {who} may write (for example /tmp; each file capped by RLIMIT_FSIZE)",
            "seeing other processes and their command lines",
        ]
        if not self.as_root:  # same user, no Yama: /proc/<pid>/mem of a dumpable process is open to it
            gaps.append("reading your other processes' memory and environment through /proc")
        if not self.seccomp:
            gaps += [
                "connecting to the network",
                "signalling or tracing other processes of the same user",
                "creating processes (only RLIMIT_NPROC caps them)",
            ]
        return tuple(gaps)

    def describe(self, *, gaps: bool = True) -> str:
        """One line: "isolated: ...", "limited (why): ...; cannot stop: ..." (without the gaps when ``gaps`` is
        False) or "refused: ..."."""
        if self.refusal is not None:
            return f"refused: {self.refusal}"
        parts = [self.user()]
        if self.namespaces:
            tool = self.tool_version or self.backend
            parts += [f"{tool}: pid, network, mount, ipc and uts namespaces", "read-only filesystem, private scratch"]
        parts.append(f"seccomp filter ({self.seccomp_note})" if self.seccomp else "no seccomp filter")
        parts.append("rlimits")
        text = ", ".join(parts)
        if not self.limited:
            return f"isolated: {text}"
        why = "; ".join(self.why_no_namespaces) if not self.namespaces else self.seccomp_note
        head = f"limited ({why}): {text}"
        return f"{head}; cannot stop: {', '.join(self.cannot_stop())}" if gaps else head


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _real_dir(path: str | os.PathLike[str] | None) -> str | None:
    if not path:
        return None
    real = os.path.realpath(path)
    return real if os.path.isdir(real) else None


def interpreter() -> str:
    """The Python that runs the child: the real file behind ``sys.executable`` (a venv's link may be hidden)."""
    return os.path.realpath(sys.executable)


def mount_plan(scratch: str, scratch_bytes: int) -> MountPlan:
    """Which folders the sandbox hides and which it binds back, for this interpreter and checkout."""
    candidates: list[str | None] = [_real_dir(d) for d in HIDDEN_DIRS]
    candidates.append(_real_dir(os.environ.get("HOME")))
    candidates.append(_real_dir(SANDBOX_DIR.parents[3]))  # the folder holding the greentui package
    candidates += [_real_dir(p) for p in [*site.getsitepackages(), site.getusersitepackages()]]
    hide = sorted({c for c in candidates if c and c not in SYSTEM_DIRS})
    exe = interpreter()
    keep_candidates = {_real_dir(sys.base_prefix), _real_dir(sys.base_exec_prefix), os.path.dirname(exe)}
    if _inside(exe, os.path.realpath(sys.prefix)):  # a venv holding a copy of the interpreter
        keep_candidates.add(_real_dir(sys.prefix))
    keep_candidates.add(str(SANDBOX_DIR))
    keep = sorted(k for k in keep_candidates if k and any(_inside(k, h) for h in hide))
    keep = [k for k in keep if not any(_inside(k, other) and k != other for other in keep)]
    # a folder inside a hidden one is hidden already, unless it lies in something bound back
    hide = [
        h
        for h in hide
        if not any(_inside(h, other) and h != other for other in hide) or any(_inside(h, k) for k in keep)
    ]
    return MountPlan(tuple(hide), tuple(keep), scratch, scratch_bytes)


def bwrap_namespaces(iso: Isolation) -> list[str]:
    """bubblewrap's options for the namespaces, the base mounts and the child's capabilities."""
    args = [iso.tool, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not iso.as_root:
        args.append("--unshare-user")
    args += ["--die-with-parent", "--as-pid-1", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    if iso.as_root:  # child.py drops to nobody itself, before any model code
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return args


def bwrap_args(iso: Isolation, plan: MountPlan) -> list[str]:
    """bubblewrap's command line (before ``--`` and the command) for ``plan``."""
    args = bwrap_namespaces(iso)
    for kind, path in plan.ordered():
        if kind == "hide":
            args += ["--perms", "0755", "--tmpfs", path]
        elif kind == "keep":
            cover = plan.covering(path)
            if cover is not None and os.path.isdir(path):
                for parent in _parents_between(cover, path):
                    args += ["--perms", "0755", "--dir", parent]
            args += ["--ro-bind", path, path]
        else:
            mode = "01777" if iso.as_root else "0700"  # a root-owned tmpfs that the dropped child must write
            args += ["--perms", mode, "--size", str(plan.scratch_bytes), "--tmpfs", path]
    for path in plan.hide:
        args += ["--remount-ro", path]
    return [*args, "--chdir", plan.scratch]


def _parents_between(top: str, path: str) -> list[str]:
    """The folders strictly between ``top`` and ``path`` (bubblewrap would create them mode 0700)."""
    parts = Path(path).relative_to(top).parts[:-1]
    return [str(Path(top, *parts[: i + 1])) for i in range(len(parts))]


def unshare_args(iso: Isolation) -> list[str]:
    """util-linux unshare's command line; the mounts are ``child.py``'s job (it gets the plan)."""
    args = [iso.tool, "--pid", "--net", "--mount", "--ipc", "--uts", "--cgroup", "--fork", "--kill-child"]
    args.append("--mount-proc")
    if not iso.as_root:
        args += ["--user", "--map-root-user"]
    return args


def _try(argv: list[str], **kwargs: object) -> tuple[bool, str]:
    """Run a probe; (worked, first line of what it said)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False, **kwargs)  # type: ignore[call-overload]  # kwargs are subprocess.run's own (env=...)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"{Path(argv[0]).name}: {exc}"
    said = (done.stderr or done.stdout).strip().splitlines()
    return done.returncode == 0, (said[0] if said else f"exit status {done.returncode}")


def _version(tool: str) -> str:
    ok, said = _try([tool, "--version"])
    if not ok:
        return Path(tool).name
    words = said.split()
    if said.startswith("bubblewrap"):
        return " ".join(words[:2])
    return f"unshare {words[-1]}" if words else "unshare"


def probe(force: str | None = None) -> Isolation:
    """Find what works here (a few short subprocesses); ``force`` picks a backend (an unusable one is refused)."""
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    seccomp_ok, seccomp_note = seccomp_filter.available() if sys.platform == "linux" else (False, "not Linux")
    base = Isolation("none", as_root=as_root, seccomp=seccomp_ok, seccomp_note=seccomp_note)
    if force is not None and force not in BACKENDS:
        return replace(base, refusal=f"{BACKEND_ENV}={force} is not one of {', '.join(BACKENDS)}")
    why: list[str] = [f"namespaces not used: {BACKEND_ENV}=none"] if force == "none" else []
    true = shutil.which("true") or "/bin/true"
    for backend in ("bwrap", "unshare"):
        if sys.platform != "linux" or force not in (None, backend):
            continue
        tool = shutil.which(backend)
        if tool is None:
            why.append(f"{backend}: not installed")
            continue
        iso = replace(base, backend=backend, tool=tool, tool_version=_version(tool), user_namespace=not as_root)
        namespaces = bwrap_namespaces(iso) if backend == "bwrap" else unshare_args(iso)
        ok, said = _try([*namespaces, "--", true])
        if ok:
            return iso
        why.append(f"{backend}: {said[:160]}")
        if force == backend:
            return replace(iso, refusal=f"{backend} does not work here ({said[:160]})")
    if sys.platform != "linux":
        why.append("namespaces need Linux")
    return replace(base, why_no_namespaces=tuple(why), refusal=_limited_refusal(as_root))


def _limited_refusal(as_root: bool) -> str | None:
    """Without namespaces, root must still hand the child to nobody: that user must be able to run this Python."""
    if sys.platform == "win32":
        return "the code sandbox needs Linux or macOS"
    if not as_root:
        return None
    # nobody must see the same standard library as we do (a Python whose own prefix it cannot read falls back to
    # another one, silently)
    argv = [interpreter(), "-I", "-S", "-c", "import os, sys; print(sys.base_prefix, os.__file__)"]
    ok, said = _try(argv, user=SANDBOX_UID, group=SANDBOX_GID, extra_groups=[], cwd="/")
    ours_ok, ours = _try(argv, cwd="/")
    if ok and ours_ok and said == ours:
        return None
    return (
        f"no namespaces here, and user {SANDBOX_UID} (nobody) cannot run {interpreter()}: model code will not run "
        "as root (install bubblewrap, allow namespaces, or run greentui as an ordinary user)"
    )


@functools.lru_cache(maxsize=1)
def current() -> Isolation:
    """The isolation this process uses for every code item (probed once)."""
    return probe(os.environ.get(BACKEND_ENV) or None)
