"""CPU package and DRAM energy from RAPL counters under ``/sys/class/powercap`` (Linux powercap framework).

Layout (kernel ``Documentation/power/powercap/powercap.rst``): each top-level zone ``intel-rapl:N`` is one
package (``name`` = ``package-N`` or ``package-N-die-D``); its sub-zones ``intel-rapl:N:M`` are ``core``,
``uncore`` and ``dram``. AMD Zen CPUs report through the same ``intel-rapl`` driver; ``amd-rapl`` zones are
accepted too. What is summed, and why:

* ``package-*``: measured, one device each (``cpu-package-0``).
* ``dram``: measured separately from the package (it is a sibling RAPL domain that sysfs merely files under the
  package), so it is its own device (``cpu-dram-0``) and may be added to the package.
* ``core`` / ``uncore``: already *inside* the package figure, never added (that would count them twice).
* ``psys``: the whole platform, the package included; skipped for the same reason.
* ``intel-rapl-mmio:N``: a second window on the same package counter on some client CPUs; used only when the
  MSR zone of that package is absent.

Counters are in microjoules and wrap at ``max_energy_range_uj``; every reading (the sampler's at 10 Hz and the
meter's at window edges) goes through one locked path that counts wraps, which is exact as long as the counter is
read at least once per wrap period (minutes even at full load).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from greentui.core.measure.power.base import PowerSource, PowerSourceError
from greentui.core.records import PowerSample

DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")
# RAPL energy status registers update about every millisecond (Intel SDM vol. 3B, 14.10).
COUNTER_PERIOD_S = 0.001
# Power in a sample is the counter's slope since the last reading at least this far back: shorter spans are
# dominated by the counter's update jitter.
MIN_POWER_SPAN_S = 0.02

_TOP_ZONE = re.compile(r"^(intel-rapl|amd-rapl|intel-rapl-mmio):(\d+)$")
_PRIORITY = {"intel-rapl": 0, "amd-rapl": 1, "intel-rapl-mmio": 2}

PERMISSION_FIX = (
    "sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj /sys/class/powercap/intel-rapl:*:*/energy_uj "
    "(until reboot), or the udev rule "
    'SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chmod o+r /sys%p/energy_uj" in '
    "/etc/udev/rules.d/99-rapl.rules; this reopens the power side channel Linux 5.10 closed "
    "(CVE-2020-8694), so only do it on a machine you do not share"
)


def _read_int(path: Path) -> int:
    """One integer from a sysfs file (a seam the tests replace to simulate permission errors)."""
    return int(path.read_text().strip())


@dataclass
class _Domain:
    device: str  # "cpu-package-0", "cpu-dram-0"
    zone: Path
    name: str  # the zone's own name: "package-0", "dram"
    max_range_uj: int
    first_uj: int
    last_uj: int
    wraps: int = 0
    ref_t_s: float = 0.0
    ref_j: float = 0.0
    power_w: float | None = None


class RaplSource(PowerSource):
    """RAPL package (and DRAM) energy counters; ``root`` is the powercap folder (tests point it at tmp_path).

    Raises :class:`PowerSourceError` when the folder or zones are missing or unreadable; a permission error
    carries the fix in ``details["fix"]``.
    """

    name = "rapl"
    quality = "measured"
    counter_period_s = COUNTER_PERIOD_S

    def __init__(
        self,
        root: str | Path = DEFAULT_POWERCAP_ROOT,
        *,
        include_dram: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(root)
        self._clock = clock
        self._lock = threading.Lock()
        self.skipped: list[str] = []
        if not self.root.is_dir():
            raise PowerSourceError(
                f"{self.root} missing",
                details={"hint": "no powercap interface: usual in VMs and containers, and off Linux"},
            )
        zones = self._package_zones()
        if not zones:
            raise PowerSourceError(f"no RAPL package zones under {self.root}")
        self._domains: list[_Domain] = []
        for package_name, zone in zones:
            self._domains.append(self._open(zone, package_name, f"cpu-{package_name}"))
            for sub in sorted(p for p in zone.iterdir() if re.fullmatch(re.escape(zone.name) + r":\d+", p.name)):
                sub_name = self._zone_name(sub)
                if sub_name == "dram" and include_dram:
                    suffix = package_name.removeprefix("package-")
                    self._domains.append(self._open(sub, sub_name, f"cpu-dram-{suffix}"))
                else:
                    self.skipped.append(f"{sub_name} ({sub.name}, inside {package_name})")
        self._by_device = {domain.device: domain for domain in self._domains}

    # ---------------------------------------------------------------------------------------------- setup
    def _package_zones(self) -> list[tuple[str, Path]]:
        """(package name, zone folder) for each package, one zone per package even where mirrors exist."""
        best: dict[str, tuple[int, Path]] = {}
        matched = [(p, m) for p in self.root.iterdir() if (m := _TOP_ZONE.match(p.name)) is not None]
        matched.sort(key=lambda pm: (_PRIORITY[pm[1].group(1)], int(pm[1].group(2))))
        for zone, match in matched:
            zone_name = self._zone_name(zone)
            priority = _PRIORITY[match.group(1)]
            if not zone_name.startswith("package"):
                why = "the whole platform, includes the package" if zone_name == "psys" else "not a package"
                self.skipped.append(f"{zone_name} ({zone.name}: {why})")
            elif zone_name in best:
                self.skipped.append(f"{zone_name} ({zone.name}: mirror of {best[zone_name][1].name})")
            else:
                best[zone_name] = (priority, zone)
        return sorted(((name, zone) for name, (_, zone) in best.items()), key=lambda item: _natural(item[0]))

    @staticmethod
    def _zone_name(zone: Path) -> str:
        try:
            return (zone / "name").read_text().strip()
        except OSError as exc:
            raise PowerSourceError(f"cannot read {zone / 'name'}: {exc.strerror or exc}") from None

    def _open(self, zone: Path, name: str, device: str) -> _Domain:
        energy_file = zone / "energy_uj"
        try:
            energy_uj = _read_int(energy_file)
            max_range_uj = _read_int(zone / "max_energy_range_uj")
        except PermissionError:
            raise PowerSourceError(
                f"permission denied reading {energy_file} (RAPL is root-only since Linux 5.10); "
                "see `greentui doctor` for the fix",
                details={"fix": PERMISSION_FIX},
            ) from None
        except (OSError, ValueError) as exc:
            raise PowerSourceError(f"cannot read {energy_file}: {exc}") from None
        return _Domain(device, zone, name, max_range_uj, energy_uj, energy_uj, ref_t_s=self._clock())

    # ---------------------------------------------------------------------------------------------- reads
    def _energy_j(self, domain: _Domain) -> float | None:
        """Joules since this source opened, wraps counted. Call with the lock held."""
        try:
            raw_uj = _read_int(domain.zone / "energy_uj")
        except (OSError, ValueError):
            return None
        if raw_uj < domain.last_uj:  # the counter passed max_energy_range_uj and restarted from 0
            domain.wraps += 1
        domain.last_uj = raw_uj
        return (raw_uj - domain.first_uj + domain.wraps * domain.max_range_uj) / 1e6

    def devices(self) -> list[str]:
        return [domain.device for domain in self._domains]

    def read(self) -> list[PowerSample]:
        samples = []
        with self._lock:
            for domain in self._domains:
                t_s = self._clock()
                energy_j = self._energy_j(domain)
                if energy_j is not None and t_s - domain.ref_t_s >= MIN_POWER_SPAN_S:
                    domain.power_w = (energy_j - domain.ref_j) / (t_s - domain.ref_t_s)
                    domain.ref_t_s, domain.ref_j = t_s, energy_j
                samples.append(
                    PowerSample(
                        t_mono_s=t_s,
                        device=domain.device,
                        power_w=domain.power_w if energy_j is not None else None,
                        source=self.name,
                        quality=self.quality,
                        energy_counter_j=energy_j,
                    )
                )
        return samples

    def energy_counter_j(self, device: str) -> float | None:
        domain = self._by_device.get(device)
        if domain is None:
            return None
        with self._lock:
            return self._energy_j(domain)

    # --------------------------------------------------------------------------------------------- report
    def describe(self) -> str:
        names = ", ".join(domain.device.removeprefix("cpu-") for domain in self._domains)
        return f"RAPL {names} (energy counters under {self.root}, ~1 ms updates)"

    def label(self) -> str:
        return "RAPL " + ", ".join(domain.device.removeprefix("cpu-") for domain in self._domains)

    def details(self) -> dict[str, str]:
        out = {
            domain.device: f"{domain.zone.name} ({domain.name}), wraps at {domain.max_range_uj / 1e6:.0f} J"
            for domain in self._domains
        }
        if self.skipped:
            out["not summed"] = "; ".join(self.skipped)
        return out


def _natural(name: str) -> tuple[object, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))
