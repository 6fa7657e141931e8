"""The kit's figures judged against stated thresholds: what looks right, what deserves a look, what is a bug.

Each finding is ``{"level": "bug" | "warning" | "ok" | "info", "check": ..., "detail": one line}``. The
thresholds are the ones ``docs/GPU.md`` explains; they are deliberately simple, so a reader can redo the
arithmetic from the JSON beside them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from greentui.core.measure.power.nvml import COUNTER_PERIOD_S

LOAD_TOLERANCE = 0.02  # counter vs trapezoid of instant power over the 60 s load: more is a bug
AVERAGE_TOLERANCE = 0.05  # the 1 s average lags the load's edges; beyond this it is worth a look
IDLE_TOLERANCE = 0.05  # 10 s of idle: a few joules of counter steps at each edge weigh more
MIN_RATE_SHARE = 0.5  # sampling slower than half the rate asked for makes the trapezoid coarse
FLAGGED_SHARE_BUG = 0.5  # windows of ~1 s flagged short on most items: the meter or the counter period is wrong
ITEMS_OVER_COUNTER_MAX = 1.02  # the items' windows cannot hold more energy than the span around them
ITEMS_OVER_COUNTER_MIN = 0.8  # more than a fifth of the span outside the items: gaps worth explaining

Finding = dict[str, str]


def _finding(level: str, check: str, detail: str) -> Finding:
    return {"level": level, "check": check, "detail": detail}


def _span_findings(name: str, span: Mapping[str, Any], tolerance: float, level: str, rate_hz: float) -> list[Finding]:
    out = []
    ratio = span.get("instant_over_counter")
    seconds = span.get("seconds", 0.0)
    if ratio is None:
        out.append(_finding("warning", f"{name}: instant power", "no ratio (no counter or no instant power)"))
    else:
        off = abs(ratio - 1.0)
        verdict = level if off > tolerance else "ok"
        out.append(
            _finding(
                verdict,
                f"{name}: counter vs instant power",
                f"trapezoid of instant power / counter = {ratio:.4f} over {seconds:.0f} s "
                f"({off:.2%} apart; limit {tolerance:.0%})",
            )
        )
    average = span.get("average_over_counter")
    if average is not None:
        off = abs(average - 1.0)
        out.append(
            _finding(
                "warning" if off > AVERAGE_TOLERANCE else "ok",
                f"{name}: counter vs 1 s averaged power",
                f"trapezoid of nvmlDeviceGetPowerUsage / counter = {average:.4f} ({off:.2%} apart; "
                f"limit {AVERAGE_TOLERANCE:.0%})",
            )
        )
    achieved = span.get("sample_rate_hz") or 0.0
    if achieved < MIN_RATE_SHARE * rate_hz:
        out.append(
            _finding("warning", f"{name}: sampling rate", f"{achieved:.0f} Hz reached of {rate_hz:.0f} Hz asked")
        )
    return out


def energy_findings(energy: Mapping[str, Any], rate_hz: float) -> list[Finding]:
    out = []
    if isinstance(energy.get("idle"), Mapping):
        out += _span_findings("idle", energy["idle"], IDLE_TOLERANCE, "warning", rate_hz)
    if isinstance(energy.get("load"), Mapping):
        out += _span_findings("load", energy["load"], LOAD_TOLERANCE, "bug", rate_hz)
    if energy.get("error"):
        out.append(_finding("bug", "energy spans", str(energy["error"])))
    return out


def counter_findings(period: Mapping[str, Any]) -> list[Finding]:
    if period.get("error"):  # the energy phase failed as a whole: energy_findings reports it once
        return []
    if period.get("reads") and period.get("failed_reads") == period.get("reads"):
        return [_finding("info", "counter period", "no energy counter on this board: greentui integrates power")]
    if period.get("changes", 0) < 2:
        return [
            _finding(
                "bug",
                "counter period",
                f"the energy counter changed {period.get('changes', 0)} time(s) in {period.get('seconds', 0):.1f} s",
            )
        ]
    smallest = period["min_gap_s"]
    median = period["median_gap_s"]
    if smallest > 1.5 * COUNTER_PERIOD_S:
        return [
            _finding(
                "bug",
                "counter period",
                f"the counter changes every {median:.3f} s (smallest gap {smallest:.3f} s) but greentui flags only "
                f"windows under {COUNTER_PERIOD_S:g} s: shorter item windows are counted from a counter that "
                "barely moved",
            )
        ]
    level = "info" if median < 0.5 * COUNTER_PERIOD_S else "ok"
    return [
        _finding(
            level,
            "counter period",
            f"counter updates every ~{median:.3f} s (smallest gap {smallest:.3f} s); greentui assumes "
            f"{COUNTER_PERIOD_S:g} s" + (", so it flags more windows than it needs to" if level == "info" else ""),
        )
    ]


def race_findings(race: Mapping[str, Any], *, on_gpu: bool) -> list[Finding]:
    name = str(race.get("name", "race"))
    out = []
    status = race.get("status")
    if status != "completed":
        stopped = status == "skipped" or "time limit" in str(race.get("reason", ""))  # the budget, not a fault
        out.append(_finding("warning" if stopped else "bug", f"{name}: status", f"{status}: {race.get('reason')}"))
    for side in ("A", "B"):
        lane = race.get(side) or {}
        if not lane.get("n_items"):
            continue
        label = f"{name} {side}"
        share = lane.get("flagged_share") or 0.0
        if share > FLAGGED_SHARE_BUG:
            out.append(_finding("bug", f"{label}: short windows", f"{share:.0%} of item windows flagged short"))
        elif share > 0:
            out.append(_finding("info", f"{label}: short windows", f"{share:.0%} of item windows flagged short"))
        if lane.get("items_without_energy"):
            out.append(_finding("bug", f"{label}: energy", f"{lane['items_without_energy']} item(s) without energy"))
        wanted = race.get("fixed_output_tokens")
        if lane.get("tokens_out") and lane["tokens_out"] != [wanted]:
            out.append(
                _finding("bug", f"{label}: fixed length", f"answers of {lane['tokens_out']} tokens, not {wanted}")
            )
        sources = {item.get("energy_source") for item in lane.get("items", [])}
        if on_gpu and sources != {"nvml"}:
            out.append(_finding("bug", f"{label}: energy source", f"items measured by {sorted(map(str, sources))}"))
    ratio = (race.get("run") or {}).get("items_over_counter")
    if on_gpu and ratio is not None:
        if ratio > ITEMS_OVER_COUNTER_MAX:
            level = "bug"
        elif ratio < ITEMS_OVER_COUNTER_MIN:
            level = "warning"
        else:
            level = "ok"
        out.append(
            _finding(level, f"{name}: items vs run total", f"sum of item windows / counter over the run = {ratio:.4f}")
        )
    return out


def all_findings(report: Mapping[str, Any], *, rate_hz: float, on_gpu: bool) -> list[Finding]:
    """Every finding of a kit report (GPU parts given as strings -- "no GPU: ..." -- are noted once)."""
    out: list[Finding] = []
    if not on_gpu:
        reason = report.get("energy") if isinstance(report.get("energy"), str) else "no GPU"
        out.append(_finding("info", "GPU", f"{reason}: the GPU checks did not run (any race ran on the CPU)"))
    if isinstance(report.get("counter_period"), Mapping):
        out += counter_findings(report["counter_period"])
    if isinstance(report.get("energy"), Mapping):
        out += energy_findings(report["energy"], rate_hz)
    races: Sequence[Mapping[str, Any]] = report.get("race") or []
    for race in races:
        out += race_findings(race, on_gpu=on_gpu)
    return out
