"""The kit's phases in order, within one time budget, into one JSON-ready dict.

On a GPU (planned to finish in under 6 minutes)::

    environment + torch probe      ~5 s    versions; torch's CUDA view; does bitsandbytes import?
    doctor                         ~2 s    greentui doctor's findings, NVML's versions and power limits
    counter period                 ~2 s    >= 1,000 back-to-back counter reads, gaps between changes
    idle span                       10 s    counter vs trapezoid of instant and 1 s averaged power, no CUDA context
    load span                       60 s    the same under a matrix-multiply load (+ ~10 s to start the load)
    races                       ~2-3 min    random SmolLM2-135M and Llama-3.2-1B, fp16 vs bf16 (+ bf16 vs nf4
                                            where bitsandbytes imports), 20 items each side, fixed output length

The races share what is left of the budget: a session is not started with less than :data:`MIN_RACE_S` left,
and one running at the deadline is stopped after its item in flight. Without a GPU the GPU phases say
"no GPU: <why>" and one tiny CPU race runs, which proves the install and the engine, not the GPU.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greentui.gpucheck.energy import TripleSampler, compare_span, read_triple
from greentui.gpucheck.environment import environment, torch_facts
from greentui.gpucheck.findings import all_findings
from greentui.gpucheck.nvml_probe import NO_GPU, counter_j, nvml_inventory, observe_counter_period
from greentui.gpucheck.race import RacePlan, run_race

WEIGHTS_NOTE = (
    "random: every model has a real architecture (SmolLM2-135M, Llama-3.2-1B) with randomly initialised weights, "
    "so compute, memory traffic and energy per token are realistic and every answer is noise; no scores are reported"
)
MIN_RACE_S = 45.0  # a session needs this much of the budget left to start (spawn, load, idle, a few items)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class KitOptions:
    items: int = 20
    max_new_tokens: int = 48
    cpu_items: int = 2
    cpu_tokens: int = 4
    idle_s: float = 10.0
    load_s: float = 60.0
    counter_reads: int = 1000
    counter_min_s: float = 2.0  # 1,000 fast reads can span less than one counter update
    sample_hz: float = 100.0
    budget_s: float = 320.0
    task: str = "arithmetic"
    gpu_models: tuple[str, ...] = ("random:smollm2-135m", "random:llama3.2-1b")
    cpu_model: str = "random:smollm2-135m"
    db_path: Path | None = None
    skip_energy: bool = False
    skip_race: bool = False


def plan_races(options: KitOptions, *, on_gpu: bool, nf4: bool) -> list[RacePlan]:
    """The sessions to run, most important first (later ones are the first dropped when time runs short)."""
    if not on_gpu:
        model = options.cpu_model
        return [
            RacePlan(
                f"{model.removeprefix('random:')} fp32 vs dint8 (CPU)",
                f"{model}@fp32,cpu",
                f"{model}@dint8,cpu",
                options.cpu_items,
                options.cpu_tokens,
                task=options.task,
                idle_s=0.0,
                sample_hz=10.0,
            )
        ]
    plans = [
        RacePlan(
            f"{m.removeprefix('random:')} fp16 vs bf16",
            f"{m}@fp16,cuda",
            f"{m}@bf16,cuda",
            options.items,
            options.max_new_tokens,
            task=options.task,
            power_source="nvml",
        )
        for m in options.gpu_models
    ]
    if nf4:  # the biggest model first: quantization matters most there
        plans += [
            RacePlan(
                f"{m.removeprefix('random:')} bf16 vs nf4",
                f"{m}@bf16,cuda",
                f"{m}@nf4,cuda",
                options.items,
                options.max_new_tokens,
                task=options.task,
                power_source="nvml",
            )
            for m in reversed(options.gpu_models)
        ]
    return plans


def _cuda0_handle() -> Any:
    """NVML's handle of the GPU torch calls cuda:0 (``CUDA_VISIBLE_DEVICES`` honoured). NVML must be initialised."""
    import pynvml

    from greentui.core.measure.power.nvml import visible_physical_indices

    count = pynvml.nvmlDeviceGetCount()
    uuids = [pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
    uuids = [u.decode() if isinstance(u, bytes) else str(u) for u in uuids]
    physical = visible_physical_indices(count, uuids, os.environ.get("CUDA_VISIBLE_DEVICES"))
    return pynvml.nvmlDeviceGetHandleByIndex(physical[0])


def energy_phase(options: KitOptions, progress: Progress) -> tuple[dict[str, Any], dict[str, Any]]:
    """(counter period, energy spans) of cuda:0: back-to-back counter reads, then the idle and load spans."""
    import pynvml

    from greentui.gpucheck.matmul_load import LoadError, MatmulLoad

    pynvml.nvmlInit()
    try:
        handle = _cuda0_handle()
        progress(f"counter period: {options.counter_reads} back-to-back reads (at least {options.counter_min_s:g} s)")
        period = observe_counter_period(
            lambda: counter_j(handle), reads=options.counter_reads, min_seconds=options.counter_min_s
        ).to_dict()
        energy: dict[str, Any] = {"device": "gpu0", "sample_rate_hz_asked": options.sample_hz}
        sampler = TripleSampler(lambda: read_triple(handle), options.sample_hz)
        sampler.start()
        try:
            progress(f"idle span: {options.idle_s:g} s, no CUDA context")
            begin = read_triple(handle)
            time.sleep(options.idle_s)
            energy["idle"] = compare_span(begin, read_triple(handle), sampler.readings).to_dict()
            load = MatmulLoad(0)
            try:
                progress("load span: starting the matrix-multiply process")
                load.start()
                progress(f"load span: {options.load_s:g} s of fp16 {load.size}x{load.size} products")
                begin = read_triple(handle)
                load.go()
                time.sleep(options.load_s)
                result = load.stop()
                span = compare_span(begin, read_triple(handle), sampler.readings).to_dict()
                span["matmul"] = {
                    "device_name": result.device_name,
                    "size": result.size,
                    "products": result.products,
                    "tflops": round(result.tflops, 1),
                }
                energy["load"] = span
            except LoadError as exc:
                energy["error"] = str(exc)
            finally:
                load.close()
        finally:
            sampler.stop()
            energy["sampler_errors"] = sampler.errors
        return period, energy
    finally:
        pynvml.nvmlShutdown()


def _gpu_counter_reader() -> tuple[Callable[[], float | None] | None, Callable[[], None]]:
    """Read cuda:0's energy counter through greentui's NVML source (for the race's run total), and close it."""
    from greentui.core.measure.power import PowerSourceError
    from greentui.core.measure.power.nvml import NvmlSource

    try:
        source = NvmlSource([0])
    except PowerSourceError:
        return None, lambda: None
    return (lambda: source.energy_counter_j("gpu0")), source.close


def race_phase(
    options: KitOptions, plans: list[RacePlan], deadline_mono_s: float, on_gpu: bool, progress: Progress
) -> list[dict[str, Any]]:
    read_counter, close = _gpu_counter_reader() if on_gpu else (None, lambda: None)
    results: list[dict[str, Any]] = []
    try:
        for plan in plans:
            left_s = deadline_mono_s - time.monotonic()
            if left_s < MIN_RACE_S:
                results.append({"name": plan.name, "status": "skipped", "reason": f"time budget ({left_s:.0f} s left)"})
                continue
            progress(f"race {plan.name}: {plan.items} items per side, {plan.max_new_tokens} tokens each")
            started = time.monotonic()
            summary = run_race(
                plan, read_counter=read_counter, db_path=options.db_path, deadline_mono_s=deadline_mono_s
            )
            summary["wall_seconds"] = round(time.monotonic() - started, 1)
            progress(f"race {plan.name}: {summary['status']} in {summary['wall_seconds']:.0f} s")
            results.append(summary)
    finally:
        close()
    return results


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def doctor_findings(options: KitOptions) -> Any:
    from greentui.core import doctor

    return _jsonable(doctor.collect(sample_seconds=1.0, g_per_kwh=400.0))


def run_kit(options: KitOptions, progress: Progress = lambda line: None) -> dict[str, Any]:
    """Every phase (see the module docstring); never raises for a failed phase, which is reported in place."""
    started = time.monotonic()
    deadline = started + options.budget_s
    phases: dict[str, float] = {}

    def timed(name: str, work: Callable[[], Any]) -> Any:
        t0 = time.monotonic()
        try:
            return work()
        except Exception as exc:  # one failed phase must not cost the others' results
            return {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        finally:
            phases[name] = round(time.monotonic() - t0, 2)

    progress("environment and torch probe")
    report: dict[str, Any] = {"kit": "greentui GPU truth kit", "format": 1, "weights": WEIGHTS_NOTE}
    report["environment"] = timed("environment", environment)
    report["torch"] = timed("torch_probe", torch_facts)
    progress("doctor")
    report["doctor"] = timed("doctor", lambda: doctor_findings(options))
    report["nvml"] = timed("nvml", nvml_inventory)
    on_gpu = bool(report["nvml"].get("available")) and bool(report["torch"].get("cuda_available"))
    if on_gpu and not options.skip_energy:
        measured = timed("energy", lambda: energy_phase(options, progress))
        if isinstance(measured, tuple):
            report["counter_period"], report["energy"] = measured
        else:
            report["counter_period"] = report["energy"] = measured
    else:
        why = report["nvml"].get("reason") if not report["nvml"].get("available") else None
        if why is None:
            why = "skipped (--skip-energy)" if on_gpu else f"{NO_GPU}: torch sees no CUDA device"
        report["counter_period"] = report["energy"] = why
    nf4 = on_gpu and "bitsandbytes" in report["torch"]
    plans = [] if options.skip_race else plan_races(options, on_gpu=on_gpu, nf4=nf4)
    report["race_plan"] = {
        "device": "cuda" if on_gpu else "cpu",
        "sessions": [f"{p.model_a} vs {p.model_b}" for p in plans],
        "nf4": nf4 or report["torch"].get("bitsandbytes_error", "no GPU"),
    }
    report["race"] = timed("race", lambda: race_phase(options, plans, deadline, on_gpu, progress))
    if isinstance(report["race"], dict):  # the phase itself failed
        report["race"] = [{"name": "races", "status": "failed", "reason": report["race"]["error"]}]
    report["findings"] = all_findings(report, rate_hz=options.sample_hz, on_gpu=on_gpu)
    report["phases_s"] = phases
    report["seconds"] = round(time.monotonic() - started, 1)
    return report
