"""The RAPL source over a fake powercap tree in tmp_path: wraparound, nested domains, permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from greentui.core.measure.meter import EnergyMeter
from greentui.core.measure.power import describe_sources, select_power_sources
from greentui.core.measure.power import rapl as rapl_module
from greentui.core.measure.power.base import PowerSourceError
from greentui.core.measure.power.rapl import RaplSource

MAX_UJ = 262_143_328_850  # a real max_energy_range_uj


def zone(folder: Path, name: str, energy_uj: int, max_uj: int = MAX_UJ) -> Path:
    folder.mkdir(parents=True)
    (folder / "name").write_text(f"{name}\n")
    (folder / "energy_uj").write_text(f"{energy_uj}\n")
    (folder / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return folder


def set_energy(folder: Path, energy_uj: int) -> None:
    (folder / "energy_uj").write_text(f"{energy_uj}\n")


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """A server-like tree: package-0 with core, uncore and dram inside; psys; an MMIO mirror of package-0."""
    root = tmp_path / "powercap"
    (root / "intel-rapl").mkdir(parents=True)  # the control-type folder itself, not a zone
    pkg = zone(root / "intel-rapl:0", "package-0", 10_000_000)
    zones = {
        "root": root,
        "pkg": pkg,
        "core": zone(pkg / "intel-rapl:0:0", "core", 5_000_000),
        "uncore": zone(pkg / "intel-rapl:0:1", "uncore", 1_000_000),
        "dram": zone(pkg / "intel-rapl:0:2", "dram", 3_000_000),
        "psys": zone(root / "intel-rapl:1", "psys", 90_000_000),
        "mmio": zone(root / "intel-rapl-mmio:0", "package-0", 10_000_000),
    }
    # sysfs also lists every sub-zone at the top level (as a link); it must not be read twice
    os.symlink(zones["core"], root / "intel-rapl:0:0")
    return zones


def test_nested_domains_never_summed_twice(tree: dict[str, Path]) -> None:
    source = RaplSource(tree["root"])
    assert source.devices() == ["cpu-package-0", "cpu-dram-0"]
    times = iter([0.0, 2.0])
    meter = EnergyMeter([source], None, clock=lambda: next(times))
    meter.begin("w")
    set_energy(tree["pkg"], 10_000_000 + 30_000_000)  # 30 J package (core and uncore are inside it)
    set_energy(tree["core"], 5_000_000 + 20_000_000)
    set_energy(tree["uncore"], 1_000_000 + 4_000_000)
    set_energy(tree["dram"], 3_000_000 + 6_000_000)  # 6 J DRAM, a separate domain
    set_energy(tree["psys"], 90_000_000 + 50_000_000)  # the platform, package included
    m = meter.end("w")
    assert m.method == "counter" and m.quality == "measured"
    assert dict(m.per_device_j) == {"cpu-package-0": pytest.approx(30.0), "cpu-dram-0": pytest.approx(6.0)}
    assert m.joules == pytest.approx(36.0)
    skipped = source.details()["not summed"]
    assert "core" in skipped and "uncore" in skipped and "psys" in skipped and "mirror" in skipped


def test_wraparound_inside_a_window(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    pkg = zone(root / "intel-rapl:0", "package-0", 999_000_000, max_uj=1_000_000_000)
    source = RaplSource(root)
    times = iter([0.0, 1.0])
    meter = EnergyMeter([source], None, clock=lambda: next(times))
    meter.begin("w")
    set_energy(pkg, 500_000)  # passed 1000 J and restarted: 1 J before the wrap + 0.5 J after
    m = meter.end("w")
    assert m.joules == pytest.approx(1.5)
    # a second wrap later is counted too (the sampler reads often enough to see each one)
    set_energy(pkg, 900_000_000)
    source.read()
    set_energy(pkg, 100_000)
    assert source.energy_counter_j("cpu-package-0") == pytest.approx(1.0 + 1000.0 + 0.1)


def test_power_from_counter_slope(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    pkg = zone(root / "intel-rapl:0", "package-0", 0)
    clock = iter([100.0, 100.5, 100.501, 101.0])
    source = RaplSource(root, clock=lambda: next(clock))  # construction reads the clock once
    set_energy(pkg, 20_000_000)
    (first,) = source.read()  # 20 J over 0.5 s
    assert first.power_w == pytest.approx(40.0) and first.energy_counter_j == pytest.approx(20.0)
    set_energy(pkg, 20_010_000)
    (second,) = source.read()  # 1 ms later: too short to trust a slope, the last power is kept
    assert second.power_w == pytest.approx(40.0)
    set_energy(pkg, 30_000_000)
    (third,) = source.read()
    assert third.power_w == pytest.approx(20.0)


def test_several_packages_in_natural_order(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    for index in (0, 1, 10, 2):
        zone(root / f"intel-rapl:{index}", f"package-{index}", 0)
    assert RaplSource(root).devices() == ["cpu-package-0", "cpu-package-1", "cpu-package-2", "cpu-package-10"]


def test_permission_denied_gives_the_fix(tree: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    real = rapl_module._read_int

    def denied(path: Path) -> int:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(rapl_module, "_read_int", denied)
    with pytest.raises(PowerSourceError) as caught:
        RaplSource(tree["root"])
    assert "permission denied" in str(caught.value) and "5.10" in str(caught.value)
    assert "udev" in caught.value.details["fix"] and "chmod" in caught.value.details["fix"]
    assert "\n" not in str(caught.value)
    sources, statuses = select_power_sources("auto", rapl_root=tree["root"])
    rapl_status = next(s for s in statuses if s.name == "rapl")
    assert not rapl_status.available and "fix" in rapl_status.details
    assert [s.name for s in sources] == ["estimate"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_for_real(tree: dict[str, Path]) -> None:
    (tree["pkg"] / "energy_uj").chmod(0o400)
    os.chmod(tree["pkg"] / "energy_uj", 0)
    with pytest.raises(PowerSourceError, match="permission denied"):
        RaplSource(tree["root"])


def test_missing_or_empty_powercap(tmp_path: Path) -> None:
    with pytest.raises(PowerSourceError, match="missing"):
        RaplSource(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PowerSourceError, match="no RAPL package zones"):
        RaplSource(tmp_path / "empty")


def test_auto_picks_rapl_over_the_estimate(tree: dict[str, Path]) -> None:
    sources, statuses = select_power_sources("auto", rapl_root=tree["root"])
    assert [s.name for s in sources] == ["rapl"]
    line, quality = describe_sources(sources, statuses)
    assert quality == "measured"
    assert line.startswith("measured (RAPL package-0, dram-0")
