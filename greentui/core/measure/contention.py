"""Contention: how much of the machine other programs used while greentui measured.

NVML and RAPL measure whole devices and the CPU estimate reads the whole machine's utilisation, so a window's
energy includes whatever else ran on the machine at the time. Every energy window (and the idle baseline)
therefore also records:

* **CPU**: the share of the machine's CPU time that went to processes outside the session, i.e. (the machine's
  busy CPU seconds - the CPU seconds of the session's process trees) / the machine's CPU seconds over the
  window. Machine figures come from ``psutil.cpu_times()`` deltas (busy = everything but idle, iowait and steal;
  steal is the hypervisor's, neither ours nor theirs); each process's from ``Process.cpu_times()`` deltas, its
  reaped children included (``children_user``/``children_system``), so a process that ends inside the window
  still counts. The session's trees are greentui's own process (and so its model workers, which are its
  children) plus each side's process provider (a served model's server runs elsewhere in the process table).
* **GPU**: how many processes outside the session had work on the models' GPUs, from NVML's compute process
  list (``nvmlDeviceGetComputeRunningProcesses``) at the window's start and end.

A window is *contended* when the CPU share is above :data:`~greentui.core.records.CONTENDED_CPU_SHARE` or any
foreign process had work on a GPU the models use. Shares are coarse for very short windows (the kernel counts
CPU time in 10 ms ticks per CPU), so a window with less than :data:`MIN_WINDOW_CPU_S` of machine CPU time takes
its share from the span that ends with it and reaches back over the last window edges until it holds that much
(:meth:`CpuAccounting.recent_share`, at most :data:`LOOKBACK_S` back): other programs' load around a 5 ms item is
what it ran under.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

from greentui.core.records import CONTENDED_CPU_SHARE

# At least this much machine CPU time (all CPUs together) before a window's share means anything: 10 ticks of
# the kernel's 10 ms clock, so one tick of rounding moves the share by at most 10 points.
MIN_WINDOW_CPU_S = 0.1
# Tree membership (which processes belong to the session) is re-walked at most this often: walking the process
# table costs milliseconds, reading a known process's times a fraction of one.
TREE_REFRESH_S = 2.0
# How far back a short window may look for enough CPU time to tell its share (see the module docstring).
LOOKBACK_S = 5.0

PidsFn = Callable[[], Sequence[int]]
_Key = tuple[int, float]  # (pid, create time): a reused pid is another process


def busy_and_total_s(times: Any) -> tuple[float, float]:
    """Busy and total CPU seconds from a ``psutil.cpu_times()`` tuple (Linux guest time is inside user/nice)."""
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    # steal is time the hypervisor gave to someone else: not ours, so it counts as neither busy nor idle here
    idle = getattr(times, "idle", 0.0) + getattr(times, "iowait", 0.0) + getattr(times, "steal", 0.0)
    return total - idle, total - getattr(times, "steal", 0.0)


def process_cpu_s(process: psutil.Process) -> float:
    """CPU seconds of ``process`` and of its children it has reaped (user + system)."""
    t = process.cpu_times()
    return float(t.user + t.system + getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0))


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far: the whole machine's and each tracked process tree's."""

    t_mono_s: float
    machine_busy_s: float
    machine_total_s: float
    session_s: float  # every session tree together (each process counted once)
    sides_s: Mapping[str, float] = field(default_factory=dict)  # each side's own tree
    sides_known: frozenset[str] = frozenset()  # sides whose provider named at least one live process


@dataclass(frozen=True)
class CpuUse:
    """What the CPUs did between two snapshots."""

    seconds: float
    machine_cpu_s: float  # CPU capacity used or not (wall seconds x CPUs, steal excluded)
    machine_busy_s: float
    session_cpu_s: float
    sides_cpu_s: Mapping[str, float]  # only for sides whose processes were found
    other_cpu_s: float  # busy time of processes outside the session

    @property
    def other_share(self) -> float | None:
        """Share of the machine's CPU time that went to other programs, in [0, 1]; None for a window too short."""
        if self.machine_cpu_s < MIN_WINDOW_CPU_S:
            return None
        return min(max(self.other_cpu_s / self.machine_cpu_s, 0.0), 1.0)

    def side_share(self, side: str) -> float | None:
        """Share of the machine's CPU time used by one side's process tree; None when its processes are unknown."""
        if side not in self.sides_cpu_s or self.machine_cpu_s <= 0:
            return None
        return min(max(self.sides_cpu_s[side] / self.machine_cpu_s, 0.0), 1.0)


def cpu_use(before: CpuSnapshot, after: CpuSnapshot) -> CpuUse:
    session = max(after.session_s - before.session_s, 0.0)
    busy = max(after.machine_busy_s - before.machine_busy_s, 0.0)
    sides = {
        side: max(after.sides_s.get(side, 0.0) - before.sides_s.get(side, 0.0), 0.0)
        for side in after.sides_known & before.sides_known
    }
    return CpuUse(
        seconds=max(after.t_mono_s - before.t_mono_s, 0.0),
        machine_cpu_s=max(after.machine_total_s - before.machine_total_s, 0.0),
        machine_busy_s=busy,
        session_cpu_s=session,
        sides_cpu_s=sides,
        other_cpu_s=max(busy - session, 0.0),
    )


class CpuAccounting:
    """Snapshots of the machine's and the session's CPU time (see the module docstring). Thread-safe.

    ``side_pids`` maps each side to a callable returning the root pids of its processes (a model worker, a
    served model's server); ``own_pid`` is greentui's process, whose tree (the workers included) always counts
    as the session's.
    """

    def __init__(
        self,
        side_pids: Mapping[str, PidsFn] | None = None,
        *,
        own_pid: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        cpu_times: Callable[[], Any] = psutil.cpu_times,
        refresh_s: float = TREE_REFRESH_S,
    ) -> None:
        self._side_pids = dict(side_pids or {})
        self._own_pid = os.getpid() if own_pid is None else own_pid
        self._clock = clock
        self._cpu_times = cpu_times
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._walked_t = float("-inf")
        self._processes: dict[_Key, psutil.Process] = {}
        self._members: dict[str, set[_Key]] = {}  # "" = greentui's own tree; else a side
        self._history: deque[CpuSnapshot] = deque(maxlen=256)  # recent snapshots, for recent_share()

    def snapshot(self) -> CpuSnapshot:
        with self._lock:
            t_s = self._clock()
            if t_s - self._walked_t >= self._refresh_s:
                self._walk()
                self._walked_t = t_s
            used: dict[_Key, float] = {}
            for key, process in list(self._processes.items()):
                try:
                    used[key] = process_cpu_s(process)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue  # ended: its time is in its parent's reaped-children figure once reaped
            busy_s, total_s = busy_and_total_s(self._cpu_times())
            sides = {side: sum(used.get(k, 0.0) for k in keys) for side, keys in self._members.items() if side}
            known = frozenset(side for side, keys in self._members.items() if side and keys)
            snapshot = CpuSnapshot(t_s, busy_s, total_s, sum(used.values()), sides, known)
            self._history.append(snapshot)
        return snapshot

    def recent_share(self, until: CpuSnapshot) -> float | None:
        """Other programs' share over the shortest recent span ending at ``until`` that holds MIN_WINDOW_CPU_S of
        machine CPU time (None when the last LOOKBACK_S seconds hold less)."""
        with self._lock:
            history = list(self._history)
        for earlier in reversed(history):
            if earlier.t_mono_s >= until.t_mono_s:
                continue
            if until.t_mono_s - earlier.t_mono_s > LOOKBACK_S:
                return None
            use = cpu_use(earlier, until)
            if use.machine_cpu_s >= MIN_WINDOW_CPU_S:
                return use.other_share
        return None

    def session_pids(self) -> set[int]:
        """Pids of every process the session counts as its own (as of the last walk)."""
        with self._lock:
            return {pid for pid, _ in self._processes}

    def refresh(self) -> None:
        """Walk the process trees again at the next snapshot (call it after the workers started)."""
        with self._lock:
            self._walked_t = float("-inf")

    def _walk(self) -> None:
        """Find every process of every tree. Call with the lock held."""
        roots: dict[str, list[int]] = {"": [self._own_pid]}
        for side, provider in self._side_pids.items():
            try:
                roots[side] = [int(pid) for pid in provider() if pid]
            except Exception:  # a provider failing (a server gone) must not stop the measurement
                roots[side] = []
        processes: dict[_Key, psutil.Process] = {}
        members: dict[str, set[_Key]] = {}
        for name, pids in roots.items():
            members[name] = set()
            for pid in pids:
                try:
                    root = psutil.Process(pid)
                    tree = [root, *root.children(recursive=True)]
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                for process in tree:
                    try:
                        key = (process.pid, process.create_time())
                    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                        continue
                    # keep the Process object seen first, so its cached identity stays the same across walks
                    processes[key] = self._processes.get(key, process)
                    members[name].add(key)
        self._processes, self._members = processes, members


class GpuWatch:
    """Counts processes outside the session with work on the models' GPUs (NVML); None answers without NVML.

    ``gpu_indices`` are CUDA indices (greentui's ``CUDA_VISIBLE_DEVICES`` order). When NVML lists processes but
    none of the session's (a container, where NVML may list the host's pids), it cannot tell whose they are and
    answers None rather than flag every window.
    """

    def __init__(self, gpu_indices: Sequence[int], *, environ: Mapping[str, str] | None = None) -> None:
        self._handles: list[Any] = []
        self._lock = threading.Lock()
        self.reason: str | None = None
        if not gpu_indices:
            self.reason = "no model uses a GPU"
            return
        try:
            import pynvml
        except ImportError:
            self.reason = "nvidia-ml-py is not installed"
            return
        self._nvml = pynvml
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            self.reason = f"NVML: {exc}"
            return
        self._initialised = True
        try:
            from greentui.core.measure.power.nvml import visible_physical_indices

            count = int(pynvml.nvmlDeviceGetCount())
            cuda_visible = (os.environ if environ is None else environ).get("CUDA_VISIBLE_DEVICES")
            uuids = None
            if cuda_visible is not None and not all(p.strip().lstrip("-").isdigit() for p in cuda_visible.split(",")):
                uuids = [str(pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i))) for i in range(count)]
            physical = visible_physical_indices(count, uuids, cuda_visible)
            self._handles = [
                pynvml.nvmlDeviceGetHandleByIndex(physical[index]) for index in gpu_indices if index < len(physical)
            ]
        except Exception as exc:  # an NVML error or a MIG slice: no GPU contention figure rather than a wrong one
            self.reason = f"NVML: {exc}"
            self._handles = []

    @property
    def available(self) -> bool:
        return bool(self._handles)

    def other_processes(self, session_pids: set[int]) -> int | None:
        """How many processes not in ``session_pids`` have work on the watched GPUs now (None: cannot tell)."""
        if not self._handles:
            return None
        listed: set[int] = set()
        with self._lock:
            try:
                for handle in self._handles:
                    listed |= {int(p.pid) for p in self._nvml.nvmlDeviceGetComputeRunningProcesses(handle)}
            except Exception:  # NVML failing mid-run: unknown for this window
                return None
        if listed and not listed & session_pids:
            return None  # pids from another namespace: whose they are cannot be told
        return len(listed - session_pids)

    def close(self) -> None:
        if getattr(self, "_initialised", False):
            self._initialised = False
            try:
                self._nvml.nvmlShutdown()
            except Exception:  # already shut down elsewhere: nothing to release
                pass


def is_contended(other_cpu_share: float | None, gpu_other_processes: int | None) -> bool:
    """The one rule: more than CONTENDED_CPU_SHARE of the CPU time went to other programs, or another process had
    work on the models' GPU."""
    return (other_cpu_share is not None and other_cpu_share > CONTENDED_CPU_SHARE) or bool(gpu_other_processes)
