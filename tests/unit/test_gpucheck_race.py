"""The GPU kit's race summary, findings, plans, and the whole kit with NVML patched and a fake matmul load."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest

from greentui.core.models.spec import ModelSpec
from greentui.core.records import IdleMeasured, RunFailed, SessionFinished
from greentui.gpucheck import kit
from greentui.gpucheck.findings import race_findings
from greentui.gpucheck.kit import KitOptions, plan_races, run_kit
from greentui.gpucheck.matmul_load import LoadResult
from greentui.gpucheck.race import RacePlan, RaceRecorder, run_race, summarize
from tests.helpers.events import loaded, scored, started
from tests.helpers.fake_nvml import FakeNvml

PLAN = RacePlan("x fp16 vs bf16", "random:smollm2-135m@fp16,cuda", "random:smollm2-135m@bf16,cuda", 2, 10)


def idle(t: float) -> IdleMeasured:
    return IdleMeasured(seconds=2.0, joules=140.0, power_w=70.0, quality="measured", source="nvml", t_mono_s=t)


def finished(status: str = "completed", reason: str = "") -> SessionFinished:
    return SessionFinished(
        status=status,  # type: ignore[arg-type]
        reason=reason,
        t_mono_s=9.0,
        ended_unix_s=1.0,
        measurements={"run": {"seconds": 8.0, "joules": 990.0}, "sample_rate_hz": 19.5},
    )


def recorded(counter: list[float], *events: Any) -> RaceRecorder:
    readings = iter(counter)
    times = iter(range(100))
    recorder = RaceRecorder(lambda: next(readings), clock=lambda: float(next(times)))
    for event in events:
        recorder(event)
    return recorder


def test_summary_keeps_hardware_figures_and_no_scores_or_text() -> None:
    recorder = recorded(
        [5000.0, 5200.0, 5410.0, 5600.0, 5800.0],
        started(2),
        loaded("A"),
        loaded("B"),
        idle(1.0),
        scored("A", 0, score=1.0, joules=190.0, start=1.0, seconds=1.0, tokens=10),
        scored("B", 0, score=0.0, joules=200.0, start=2.0, seconds=1.0, tokens=10),
        dataclasses.replace(
            scored("B", 1, score=1.0, joules=180.0, start=3.0, seconds=1.0, tokens=10), energy_flagged=True
        ),
        scored("A", 1, score=1.0, joules=190.0, start=4.0, seconds=1.0, tokens=10),
        finished(),
    )
    summary = summarize(PLAN, recorder)
    assert summary["status"] == "completed" and summary["fixed_output_tokens"] == 10
    a, b = summary["A"], summary["B"]
    assert (
        a["n_items"] == 2 and a["joules_total"] == pytest.approx(380.0) and a["joules_per_token"] == pytest.approx(19.0)
    )
    assert a["model"]["quant"] == "none" and b["model"]["quant"] == "nf4"
    assert b["flagged_short"] == 1 and b["flagged_share"] == pytest.approx(0.5)
    assert a["ttft_s_median"] == pytest.approx(0.1) and a["decode_tokens_per_s_median"] == pytest.approx(10.0)
    assert a["tokens_out"] == [10]
    # the counter: 5000 J when the items began, 5800 J after the last one; the items hold 760 J of it
    assert summary["run"]["counter_j"] == pytest.approx(800.0) and summary["run"]["items_sum_j"] == pytest.approx(760.0)
    assert summary["run"]["items_over_counter"] == pytest.approx(0.95)
    assert summary["run"]["session_integrated_j"] == pytest.approx(990.0)
    assert summary["idle"] == {"seconds": 2.0, "power_w": 70.0}
    text = json.dumps(summary)
    for word in ('"score"', '"answer"', '"output"', "question 0", '"reference"'):
        assert word not in text
    levels = {f["check"]: f["level"] for f in race_findings(summary, on_gpu=True)}
    assert levels["x fp16 vs bf16 B: short windows"] == "info"  # half the items: worth a note, not yet a bug
    assert levels["x fp16 vs bf16: items vs run total"] == "ok"
    assert levels["x fp16 vs bf16 A: energy source"] == "bug"  # measured by "replay", not NVML, on a GPU run


def test_findings_flag_short_windows_lengths_double_counting_and_failures() -> None:
    events = [
        dataclasses.replace(scored("A", i, score=0.0, joules=10.0, start=i, tokens=9), energy_flagged=i > 0)
        for i in range(3)
    ]
    recorder = recorded(
        [100.0, 110.0, 120.0, 125.0],
        idle(0.0),
        *events,
        RunFailed(side="B", reason="model B ran out of memory", failure="oom", t_mono_s=3.0),
        finished("failed", "model B ran out of memory"),
    )
    summary = summarize(PLAN, recorder)
    assert summary["run"]["items_over_counter"] == pytest.approx(30.0 / 25.0)
    assert summary["B"]["failure"] == "model B ran out of memory" and summary["B"]["n_items"] == 0
    found = {f["check"]: f for f in race_findings(summary, on_gpu=True)}
    assert found["x fp16 vs bf16: status"]["level"] == "bug"
    assert found["x fp16 vs bf16 A: short windows"]["level"] == "bug"  # 2 of 3 windows of ~1 s flagged short
    assert found["x fp16 vs bf16 A: fixed length"]["level"] == "bug"  # 9-token answers, 10 asked
    assert found["x fp16 vs bf16: items vs run total"]["level"] == "bug"  # items hold more than the whole span
    stopped = summary | {"status": "interrupted", "reason": "stopped at the kit's time limit"}
    assert {f["check"]: f["level"] for f in race_findings(stopped, on_gpu=False)}["x fp16 vs bf16: status"] == "warning"


def test_summary_without_a_counter_has_no_run_total() -> None:
    recorder = RaceRecorder(None)
    for event in (idle(0.0), scored("A", 0, score=1.0, joules=5.0, start=0.0), finished()):
        recorder(event)
    summary = summarize(PLAN, recorder)
    assert summary["run"]["counter_j"] is None and summary["run"]["items_sum_j"] == pytest.approx(5.0)
    assert "items vs run total" not in json.dumps(race_findings(summary, on_gpu=False))


def test_plans_on_gpu_with_and_without_bitsandbytes_and_on_cpu() -> None:
    options = KitOptions()
    gpu = plan_races(options, on_gpu=True, nf4=False)
    assert [(p.model_a, p.model_b) for p in gpu] == [
        ("random:smollm2-135m@fp16,cuda", "random:smollm2-135m@bf16,cuda"),
        ("random:llama3.2-1b@fp16,cuda", "random:llama3.2-1b@bf16,cuda"),
    ]
    assert all(p.items == 20 and p.max_new_tokens == 48 and p.config().fixed_length for p in gpu)
    assert all(p.config().power_source == "nvml" for p in gpu)  # the GPU's energy alone, as its counter sees it
    with_nf4 = plan_races(options, on_gpu=True, nf4=True)
    assert [p.model_b for p in with_nf4[2:]] == ["random:llama3.2-1b@nf4,cuda", "random:smollm2-135m@nf4,cuda"]
    (cpu,) = plan_races(options, on_gpu=False, nf4=False)
    assert (cpu.model_a, cpu.model_b, cpu.items, cpu.max_new_tokens) == (
        "random:smollm2-135m@fp32,cpu",
        "random:smollm2-135m@dint8,cpu",
        2,
        4,
    )
    assert cpu.power_source == "auto"
    for plan in [*with_nf4, cpu]:  # every spec the kit writes parses
        ModelSpec.parse(plan.model_a)
        ModelSpec.parse(plan.model_b)


def test_a_race_through_the_real_engine_with_fake_models_is_kept_in_the_store(tmp_path: Path) -> None:
    counter = iter(float(j) for j in range(1000, 100000, 7))
    plan = RacePlan("fake", "fake:oracle?tps=2000", "fake:oracle?tps=1500", 3, 8, idle_s=0.0)
    summary = run_race(plan, read_counter=lambda: next(counter), db_path=tmp_path / "kit.db", inline_workers=True)
    assert summary["status"] == "completed"
    assert summary["A"]["n_items"] == summary["B"]["n_items"] == 3
    assert summary["A"]["tokens_out"] == summary["B"]["tokens_out"] == [8]  # fixed length honoured
    assert summary["run"]["counter_j"] is not None
    assert summary["store"]["db"] == str(tmp_path / "kit.db") and summary["store"]["errors"] == []
    from greentui.store import SessionStore

    store = SessionStore(tmp_path / "kit.db", readonly=True)
    assert store.resume_info(summary["store"]["session_id"]).done["A"]


def test_a_race_the_engine_refuses_is_reported_in_one_line() -> None:
    summary = run_race(RacePlan("bad", "fake:oracle", "fake:oracle", 2, 4, task="no-such-task"), inline_workers=True)
    assert summary["status"] == "refused" and "no-such-task" in summary["reason"]


def test_a_race_stops_at_the_deadline() -> None:
    plan = RacePlan("slow", "fake:oracle?tps=40", "fake:oracle?tps=40", 20, 8, idle_s=0.0)
    summary = run_race(plan, deadline_mono_s=time.monotonic() + 0.5, inline_workers=True)
    assert summary["status"] == "interrupted" and "time limit" in summary["reason"]
    assert summary["A"]["n_items"] < 20


class FakeLoad:
    """Stands in for the matmul child process: the GPU's power goes up while it 'runs'."""

    def __init__(self, fake: FakeNvml) -> None:
        self.fake = fake
        self.size = 8192

    def __call__(self, device_index: int = 0) -> FakeLoad:
        return self

    def start(self) -> str:
        return "NVIDIA H100 80GB HBM3"

    def go(self) -> None:
        self.fake.gpus[0].power_mw = 650_000

    def stop(self) -> LoadResult:
        self.fake.gpus[0].power_mw = 90_000
        return LoadResult("NVIDIA H100 80GB HBM3", 100, 1.0, self.size)

    def close(self) -> None:
        pass


def test_the_whole_kit_with_nvml_patched(fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvml.clock = time.monotonic  # the counter advances with real time, in 10 ms steps
    for gpu in fake_nvml.gpus:
        gpu.counter_period_s, gpu.power_mw, gpu.instant_offset_mw = 0.01, 90_000, 0
    monkeypatch.setattr(kit, "torch_facts", lambda: {"torch": "2.13.0", "cuda_available": True})
    monkeypatch.setattr("greentui.gpucheck.matmul_load.MatmulLoad", FakeLoad(fake_nvml))
    options = KitOptions(idle_s=0.5, load_s=1.0, counter_reads=200, counter_min_s=0.2, skip_race=True)
    lines: list[str] = []
    report = run_kit(options, lines.append)
    assert report["weights"].startswith("random") and report["race"] == []
    assert report["nvml"]["available"] and report["nvml"]["gpus"][0]["power_limit_w"] == 700.0
    assert report["doctor"]["checks"][0]["status"]["name"] == "nvml"
    assert report["counter_period"]["changes"] > 5 and report["counter_period"]["greentui_assumes_s"] == 0.1
    load = report["energy"]["load"]
    assert load["matmul"]["tflops"] > 0 and load["mean_power_w"] == pytest.approx(650.0, rel=0.15)
    assert report["energy"]["idle"]["mean_power_w"] == pytest.approx(90.0, rel=0.15)
    assert report["race_plan"]["device"] == "cuda" and report["race_plan"]["nf4"] == "no GPU"
    assert {"doctor", "energy", "race"} <= set(report["phases_s"])
    assert any("load span" in line for line in lines)
    assert all(f["level"] != "bug" for f in report["findings"] if f["check"] != "counter period")
    json.dumps(report)  # JSON-ready throughout


def test_the_kit_without_a_gpu_says_so_everywhere(fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch) -> None:
    import pynvml

    fake_nvml.init_error = pynvml.NVML_ERROR_LIBRARY_NOT_FOUND
    monkeypatch.setattr(kit, "torch_facts", lambda: {"torch": "2.13.0+cpu", "cuda_available": False})
    report = run_kit(KitOptions(skip_race=True))
    assert report["counter_period"] == report["energy"] == "no GPU: NVML library not found"
    assert report["race_plan"]["device"] == "cpu"
    assert report["findings"][0]["detail"].startswith("no GPU: NVML library not found")
