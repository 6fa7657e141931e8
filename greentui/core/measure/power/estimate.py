"""An honest CPU power *estimate* for machines without a hardware counter (VMs, containers, macOS).

Model::

    cpu_power_w = idle_w + (tdp_w - idle_w) x utilisation        idle_w = IDLE_FRACTION x tdp_w = 0.1 x TDP

* ``tdp_w``: the CPU's thermal design power from CodeCarbon's table (``codecarbon/data/hardware/cpu_power.csv``)
  when the detected model is in it; otherwise CodeCarbon's own rule for an unknown CPU, 4 W per logical CPU.
* ``IDLE_FRACTION`` = 0.1: CodeCarbon's CPU-load mode never goes below 10 % of TDP
  (``codecarbon/external/hardware.py``); we use the same floor as the idle draw.
* ``utilisation``: the whole machine's busy share from ``psutil.cpu_times()`` deltas (busy = all time but idle,
  iowait and steal; guest time is already inside user), taken under our own lock rather than
  ``psutil.cpu_percent``'s process-global state, so the sampler thread and the meter can both call
  :meth:`EstimateSource.read`. The model workers' process trees (``process_pids``) are measured too and kept as detail (:attr:`EstimateSource.detail`).
  The samples stay machine-wide (the machine's CPU draws power whoever uses it); each model's *window* is then
  charged its own process tree's share by the measuring door (``core/measure/measuring.py``), with this
  machine-wide figure kept beside it.
* Optional RAM term (``include_ram``): 3 W per 8 GB of installed memory, CodeCarbon's rule before 3.0, as a second
  device ``ram``.

Every figure is ``quality="estimated"``; :meth:`EstimateSource.describe` states the TDP, the idle fraction and
where each came from.
"""

from __future__ import annotations

import os
import platform
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import psutil

from greentui.core.measure.power.base import PowerSource
from greentui.core.records import PowerSample

IDLE_FRACTION = 0.1
IDLE_FRACTION_SOURCE = "CodeCarbon's CPU-load floor"
DEFAULT_W_PER_THREAD = 4.0  # CodeCarbon's DEFAULT_POWER_PER_CORE, used per logical CPU for unknown CPUs
RAM_W_PER_GB = 3.0 / 8.0
# Utilisation is recomputed only when at least this long has passed since the last snapshot (about 10 Hz; a
# little under 0.1 s so 10 Hz sampling jitter does not skip updates): cpu_times() moves in 10 ms ticks per CPU,
# so shorter spans are mostly quantisation noise, and reading /proc/stat is most of a tick's cost.
MIN_UTILISATION_SPAN_S = 0.09
# The workers' process-tree share is detail, not part of the figure: it is updated once a second (reading each
# process costs ~0.1 ms on a cold cache, a third of a 20 Hz tick), and the trees re-walked every 2 s.
TREE_SAMPLE_S = 1.0
TREE_REFRESH_S = 2.0


@dataclass(frozen=True)
class CpuPowerModel:
    """The numbers the estimate uses and where each came from."""

    cpu_model: str
    logical_cpus: int
    tdp_w: float
    tdp_source: str  # "codecarbon table: Intel Core i7-8700K" | "default: 4 W x 2 logical CPUs (...)" | "user"
    idle_fraction: float = IDLE_FRACTION
    idle_source: str = IDLE_FRACTION_SOURCE

    @property
    def idle_w(self) -> float:
        return self.idle_fraction * self.tdp_w

    def power_w(self, utilisation: float) -> float:
        """CPU power in watts at ``utilisation`` in [0, 1]."""
        return self.idle_w + (self.tdp_w - self.idle_w) * min(max(utilisation, 0.0), 1.0)


@dataclass(frozen=True)
class EstimateDetail:
    """What the last estimate was made of (for the UI's detail line and ``doctor``)."""

    t_mono_s: float
    machine_utilisation: float | None  # in [0, 1]
    process_utilisation: float | None  # the model workers' trees, share of the whole machine in [0, 1]
    pids: tuple[int, ...]
    cpu_power_w: float | None


def detect_cpu_model() -> str | None:
    """The CPU's marketing name ("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz"), or None if unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for key in ("model name", "Model", "Hardware", "cpu model"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if match and match.group(1).strip():
            return match.group(1).strip()
    return platform.processor() or None


def normalise_cpu_name(name: str) -> str:
    """Lower-case, without trademarks, clock speed, core counts and filler words, single spaces."""
    text = re.sub(r"\((R|TM|r|tm)\)", " ", name)
    text = re.sub(r"@\s*[\d.]+\s*[GM]Hz", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\b\d+-Core\b|\bCPU\b|\bProcessor\b|\bwith Radeon.*$", " ", text, flags=re.IGNORECASE)
    return " ".join(text.lower().split())


@lru_cache(maxsize=1)
def codecarbon_cpu_table() -> tuple[tuple[str, float], ...]:
    """(name, TDP in W) rows of CodeCarbon's bundled CPU table; empty if codecarbon is not installed."""
    import csv

    try:
        from codecarbon.input import DataSource

        path = DataSource().cpu_power_path
    except Exception:  # codecarbon missing or changed its layout: the estimate falls back to the default
        return ()
    with open(path, newline="", encoding="utf-8") as handle:
        rows = []
        for row in csv.DictReader(handle):
            try:
                rows.append((row["Name"].strip(), float(row["TDP"])))
            except (KeyError, TypeError, ValueError):
                continue
    return tuple(rows)


@lru_cache(maxsize=4)
def _normalised(table: tuple[tuple[str, float], ...]) -> tuple[tuple[str, str, float], ...]:
    return tuple((normalise_cpu_name(name), name, tdp) for name, tdp in table)


def lookup_tdp(cpu_model: str, table: Sequence[tuple[str, float]]) -> tuple[str, float] | None:
    """Find ``cpu_model`` in a (name, TDP) table: exact match after :func:`normalise_cpu_name`, else the longest
    table name (with a model number in it) found word for word inside the detected name. Ambiguous -> None."""
    wanted = normalise_cpu_name(cpu_model)
    if not wanted:
        return None
    normalised = _normalised(tuple(table))
    for norm, name, tdp in normalised:
        if norm == wanted:
            return name, tdp
    padded = f" {wanted} "
    hits = [
        (len(norm), name, tdp) for norm, name, tdp in normalised if re.search(r"\d", norm) and f" {norm} " in padded
    ]
    if not hits:
        return None
    longest = max(length for length, _, _ in hits)
    best = {(name, tdp) for length, name, tdp in hits if length == longest}
    if len({tdp for _, tdp in best}) != 1:
        return None
    return sorted(best)[0]


def cpu_power_model(cpu_model: str | None = None, tdp_w: float | None = None) -> CpuPowerModel:
    """The estimate's parameters for this machine (or for ``cpu_model``); ``tdp_w`` overrides the table."""
    model = cpu_model or detect_cpu_model() or "unknown CPU"
    threads = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    if tdp_w is not None:
        return CpuPowerModel(model, threads, float(tdp_w), "given by the user")
    found = lookup_tdp(model, codecarbon_cpu_table())
    if found is not None:
        name, tdp = found
        return CpuPowerModel(model, threads, tdp, f"codecarbon CPU table: {name}")
    default = DEFAULT_W_PER_THREAD * threads
    return CpuPowerModel(
        model,
        threads,
        default,
        f"default: {DEFAULT_W_PER_THREAD:g} W x {threads} logical CPUs (model not in codecarbon's table)",
    )


def _busy_and_total_s(times: Sequence[float]) -> tuple[float, float]:
    """Busy and total CPU seconds from a psutil.cpu_times() tuple (Linux guest time is inside user/nice)."""
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    # steal is time the hypervisor gave to someone else: not ours, so it counts as neither busy nor idle here
    idle = getattr(times, "idle", 0.0) + getattr(times, "iowait", 0.0) + getattr(times, "steal", 0.0)
    return total - idle, total - getattr(times, "steal", 0.0)


class EstimateSource(PowerSource):
    """Estimated CPU (and optional RAM) power; see the module docstring for the model and its sources."""

    name = "estimate"
    quality = "estimated"
    counter_period_s = None

    def __init__(
        self,
        process_pids: Callable[[], Sequence[int]] | None = None,
        *,
        model: CpuPowerModel | None = None,
        include_ram: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model or cpu_power_model()
        self._process_pids = process_pids
        self._clock = clock
        self._lock = threading.Lock()
        self.ram_w = psutil.virtual_memory().total / 2**30 * RAM_W_PER_GB if include_ram else None
        self._snapshot_t = clock()
        self._snapshot = _busy_and_total_s(psutil.cpu_times())
        self._utilisation: float | None = None
        # process-tree bookkeeping: pid -> (Process, cpu seconds at the last snapshot)
        self._tree: dict[tuple[int, float], tuple[psutil.Process, float]] = {}
        self._tree_pids: tuple[int, ...] = ()
        self._tree_walked_t = float("-inf")
        self._tree_t = self._snapshot_t
        self._process_utilisation: float | None = None
        self.detail: EstimateDetail | None = None

    def devices(self) -> list[str]:
        return ["cpu"] if self.ram_w is None else ["cpu", "ram"]

    def read(self) -> list[PowerSample]:
        with self._lock:
            t_s = self._clock()
            self._update(t_s)
            utilisation = self._utilisation
            cpu_w = None if utilisation is None else self.model.power_w(utilisation)
            self.detail = EstimateDetail(t_s, utilisation, self._process_utilisation, self._tree_pids, cpu_w)
        samples = [PowerSample(t_s, "cpu", cpu_w, self.name, "estimated")]
        if self.ram_w is not None:
            samples.append(PowerSample(t_s, "ram", self.ram_w, self.name, "estimated"))
        return samples

    def _update(self, t_s: float) -> None:
        """Advance the utilisation snapshots if enough time passed. Call with the lock held."""
        if t_s - self._snapshot_t < MIN_UTILISATION_SPAN_S and self._utilisation is not None:
            return
        if self._process_pids is not None and t_s - self._tree_t >= TREE_SAMPLE_S:
            self._process_utilisation = self._tree_utilisation(t_s, t_s - self._tree_t)
            self._tree_t = t_s
        busy_s, total_s = _busy_and_total_s(psutil.cpu_times())
        d_busy, d_total = busy_s - self._snapshot[0], total_s - self._snapshot[1]
        if d_total <= 0:
            return  # no tick elapsed yet: keep the last figure (None before the first one)
        self._utilisation = min(max(d_busy / d_total, 0.0), 1.0)
        self._snapshot_t, self._snapshot = t_s, (busy_s, total_s)

    def _tree_utilisation(self, t_s: float, span_s: float) -> float | None:
        """Share of the machine used by the workers' process trees over the last ``span_s`` seconds."""
        if t_s - self._tree_walked_t >= TREE_REFRESH_S:
            self._walk_trees()
            self._tree_walked_t = t_s
        used_s = 0.0
        for key, (process, before_s) in list(self._tree.items()):
            try:
                times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                del self._tree[key]
                continue
            now_s = times.user + times.system
            used_s += max(now_s - before_s, 0.0)
            self._tree[key] = (process, now_s)
        if not self._tree or span_s <= 0:
            return None
        return min(used_s / (span_s * self.model.logical_cpus), 1.0)

    def _walk_trees(self) -> None:
        try:
            pids = tuple(self._process_pids() if self._process_pids else ())
        except Exception:  # the caller's callable failing must not stop power sampling
            pids = ()
        found: dict[tuple[int, float], psutil.Process] = {}
        for pid in pids:
            try:
                root = psutil.Process(pid)
                for process in [root, *root.children(recursive=True)]:
                    found[(process.pid, process.create_time())] = process
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        tree: dict[tuple[int, float], tuple[psutil.Process, float]] = {}
        for key, process in found.items():
            if key in self._tree:
                tree[key] = self._tree[key]
                continue
            try:
                times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            tree[key] = (process, times.user + times.system)  # counts from now on
        self._tree, self._tree_pids = tree, pids

    def describe(self) -> str:
        m = self.model
        text = (
            f"CPU estimate for {m.cpu_model}: idle {m.idle_w:.1f} W + ({m.tdp_w:g} - {m.idle_w:.1f} W) x utilisation; "
            f"TDP {m.tdp_w:g} W from {m.tdp_source}; idle = {m.idle_fraction:g} x TDP ({m.idle_source})"
        )
        if self.ram_w is not None:
            text += f"; RAM {self.ram_w:.1f} W (3 W per 8 GB)"
        return text

    def label(self) -> str:
        return f"CPU estimate, TDP {self.model.tdp_w:g} W"

    def details(self) -> dict[str, str]:
        m = self.model
        out = {
            "cpu model": m.cpu_model,
            "logical cpus": str(m.logical_cpus),
            "tdp": f"{m.tdp_w:g} W ({m.tdp_source})",
            "idle": f"{m.idle_w:.1f} W = {m.idle_fraction:g} x TDP ({m.idle_source})",
        }
        if self.ram_w is not None:
            out["ram"] = f"{self.ram_w:.1f} W (3 W per 8 GB installed)"
        return out
