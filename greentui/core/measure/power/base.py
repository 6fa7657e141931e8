"""The contract every power source keeps, and the status record `doctor` and the session header show.

A *source* reads one or more *devices* (``gpu0``, ``cpu-package-0``, ``cpu``). ``read()`` returns one
:class:`~greentui.core.records.PowerSample` per device, stamped with ``time.monotonic()``; a device with a
cumulative hardware energy counter also answers ``energy_counter_j(device)``. Anything a source cannot give is
``None``, never 0. Sources are read from two threads at once (the sampler thread and the meter at window
edges), so every implementation guards its mutable state with a lock.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from greentui.core.records import PowerSample, Quality


class PowerSourceError(Exception):
    """A power source cannot be used here. The message is one line a user can act on; ``details`` carries
    extra facts for ``doctor`` (for example ``{"fix": "a udev rule ..."}``)."""

    def __init__(self, message: str, *, details: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, str] = dict(details or {})


@dataclass(frozen=True)
class SourceStatus:
    """Whether one kind of source works on this machine, and why (not).

    ``reason`` is one human line ("NVML library not found", "2 GPUs, energy counter"); ``details`` holds
    extra facts for ``doctor`` (CPU model, TDP and where it came from, counter period, a fix to apply).
    """

    name: str
    available: bool
    reason: str
    details: dict[str, str] = field(default_factory=dict)


class PowerSource(abc.ABC):
    """One reader of power (and, where the hardware has one, an energy counter) for a set of devices."""

    name: str = "source"
    quality: Quality = "estimated"
    # How often the hardware updates its energy counter, in seconds; None when there is no counter.
    # Windows shorter than this are flagged by the meter rather than reported from a counter that did not move.
    counter_period_s: float | None = None

    @abc.abstractmethod
    def devices(self) -> list[str]:
        """The devices this source reads, e.g. ``["gpu0"]`` or ``["cpu-package-0", "cpu-dram-0"]``."""

    @abc.abstractmethod
    def read(self) -> list[PowerSample]:
        """One sample per device, ``t_mono_s = time.monotonic()`` at the reading. Thread-safe."""

    def energy_counter_j(self, device: str) -> float | None:
        """Cumulative energy of ``device`` in joules (wraparound corrected), or None without a counter."""
        return None

    @abc.abstractmethod
    def describe(self) -> str:
        """One human line saying what is read and how, e.g. "NVML gpu0 NVIDIA H100 (energy counter)"."""

    def label(self) -> str:
        """A short name for the session header, e.g. "NVML gpu0" or "RAPL package-0, dram-0"."""
        return f"{self.name} {', '.join(self.devices())}"

    def details(self) -> dict[str, str]:
        """Facts for ``doctor`` (model names, counter period, where a figure came from)."""
        return {}

    def close(self) -> None:  # noqa: B027 - an optional hook: most sources hold nothing to release
        """Release what the source holds (library handles). Safe to call twice."""

    def __enter__(self) -> PowerSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
