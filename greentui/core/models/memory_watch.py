"""Evidence for "out of memory?" when a model worker dies of SIGKILL.

SIGKILL is what the kernel's OOM killer sends, and also what ``kill -9`` from another process sends; the exit
status cannot tell the two apart. So the worker's parent keeps a little evidence while the worker runs:

* the kernel's own count of OOM kills: ``oom_kill`` in ``/proc/vmstat`` (every OOM kill on the machine, Linux
  4.13+) and in the memory cgroup's ``memory.events`` (cgroup v2) or ``memory.oom_control`` (v1);
* the worker's resident memory, sampled at most every :data:`SAMPLE_PERIOD_S`, against the limit it lives under
  (the machine's RAM or a smaller cgroup limit), and the memory the machine still had available.

A SIGKILL is blamed on memory only when a counter went up while the worker ran, or when the last sample had
the worker at :data:`NEAR_LIMIT_SHARE` of its limit or the machine under :data:`LOW_AVAILABLE_SHARE` free.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_PERIOD_S = 0.25
NEAR_LIMIT_SHARE = 0.8  # resident memory at this share of the limit counts as "near the limit"
LOW_AVAILABLE_SHARE = 0.05  # the machine had less than this share of its memory available
_UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as a number near 2**63


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, ValueError):
        return None


def _cgroup_dirs() -> list[Path]:
    """The memory cgroup folders of this process (v2 unified and v1 memory controller), those that exist."""
    text = _read(Path("/proc/self/cgroup")) or ""
    found: list[Path] = []
    for line in text.splitlines():
        _, controllers, relative = [*line.split(":", 2), "", ""][:3]
        relative = relative.lstrip("/")
        if controllers == "":  # v2: "0::/path"
            candidates = [Path("/sys/fs/cgroup") / relative, Path("/sys/fs/cgroup/unified") / relative]
        elif "memory" in controllers.split(","):
            candidates = [Path("/sys/fs/cgroup/memory") / relative, Path("/sys/fs/cgroup/memory")]
        else:
            continue
        found += [c for c in candidates if c.is_dir() and c not in found]
    return found


def oom_kill_count() -> int:
    """OOM kills the kernel reports so far (machine-wide plus this cgroup's); 0 where nothing reports them."""
    total = 0
    for path, key in [(Path("/proc/vmstat"), "oom_kill")] + [
        (folder / name, "oom_kill") for folder in _cgroup_dirs() for name in ("memory.events", "memory.oom_control")
    ]:
        for line in (_read(path) or "").splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                total += int(value)
    return total


def memory_limit_bytes() -> int:
    """The most memory this process tree may use: the machine's RAM, or a smaller cgroup limit."""
    limit = int(psutil.virtual_memory().total)
    for folder in _cgroup_dirs():
        for name in ("memory.max", "memory.limit_in_bytes"):
            text = (_read(folder / name) or "").strip()
            if text.isdigit() and int(text) < _UNLIMITED:
                limit = min(limit, int(text))
    return limit


@dataclass
class MemoryWatch:
    """Watches one worker process; :meth:`sample` is cheap to call often (it samples at most every 0.25 s)."""

    pid: int
    limit_bytes: int
    oom_kills_at_start: int
    last_rss_bytes: int | None = None
    peak_rss_bytes: int | None = None
    available_share: float | None = None  # of the machine's memory, at the last sample
    _next_mono_s: float = 0.0

    @classmethod
    def start(cls, pid: int) -> MemoryWatch:
        return cls(pid=pid, limit_bytes=memory_limit_bytes(), oom_kills_at_start=oom_kill_count())

    def sample(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_mono_s:
            return
        self._next_mono_s = now + SAMPLE_PERIOD_S
        try:
            rss = int(psutil.Process(self.pid).memory_info().rss)
            memory = psutil.virtual_memory()
        except psutil.Error:  # gone already: keep the last sample
            return
        self.last_rss_bytes = rss
        self.peak_rss_bytes = max(rss, self.peak_rss_bytes or 0)
        self.available_share = memory.available / memory.total if memory.total else None

    def out_of_memory_hint(self) -> str | None:
        """Why a SIGKILL looks like the OOM killer's, in words, or None when nothing points to memory."""
        if oom_kill_count() > self.oom_kills_at_start:
            return "the kernel reports an out-of-memory kill meanwhile"
        rss = self.last_rss_bytes
        if rss is not None and rss >= NEAR_LIMIT_SHARE * self.limit_bytes:
            return f"it used {rss / 2**30:.1f} GiB of a {self.limit_bytes / 2**30:.1f} GiB limit"
        if self.available_share is not None and self.available_share < LOW_AVAILABLE_SHARE:
            return f"the machine had {self.available_share:.0%} of its memory left"
        return None
