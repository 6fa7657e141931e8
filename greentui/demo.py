"""The offline demo: what it races, and how long it expects to take on this machine.

By default it shows the research's point (the CEGI paper; Garg et al.): SmolLM2-135M against the same model plus
the small LoRA adapter that ships with greentui (``greentui/adapters/lora-arithmetic``, trained by
``examples/train_lora_arithmetic.py``), in CEGI's fine-tune mode with the adapter's measured training emissions, on
the arithmetic task, stopping as soon as the comparison is settled. ``--quantized`` races fp32 against nf4 instead.

The expected duration is derived from what was measured: the last demo this store holds (its wall time and items),
else reference figures measured on a 2-core VM scaled by a quick CPU probe run now, plus the first-run GGUF
conversion when its cache is missing. Either way it is an estimate and says so.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when needed: the demo's constants load with the CLI
    from greentui.core.run.session import SessionConfig
    from greentui.store import SessionStore


DEMO_MODEL_A = "smollm2-135m@fp32"
DEMO_ADAPTER = "lora-arithmetic"
DEMO_MODEL_B = f"{DEMO_MODEL_A}+adapter={DEMO_ADAPTER}"
DEMO_TASK = "arithmetic"
DEMO_MAX_ITEMS = 60  # per side; the task has 120
DEMO_ORDER_SEED = 2026  # fixed before any demo ran, so every demo runs the same items in the same order
TRAINING_RECORD = "training.json"

QUANTIZED_MODEL_B = "smollm2-135m@nf4"
QUANTIZED_TASK = "dialogue-summary"  # measured: the one built-in task where fp32 and nf4 differ beyond the CI
QUANTIZED_LIMIT = 20

# Measured on the reference machine (the 2-core VM of the README, no GPU), nothing else running: `greentui demo
# --headless` from a fresh clone's first run, 2026-12-07, load average 0.56 before it and up to 1.8 while it ran (its
# own two model workers), with the CPU probe below taken before the workers started. 103 s wall in all.
REFERENCE_PROBE_S = 0.0057  # _probe_seconds() there and then (the median of five fresh processes: 0.0055-0.0066)
REFERENCE_OVERHEAD_S = 13.8  # process and session start, both models loaded, the 3 s idle baseline
REFERENCE_PAIR_S = 3.05  # one item on each side: 79.4 s of items over 26 pairs, at 24-25 tokens/s decode
REFERENCE_PAIRS = 26  # pairs until the demo settled (the order seed is fixed, so it settles there again)
REFERENCE_CONVERSION_S = 10.0  # the first-run GGUF -> safetensors conversion on top of the load (9.5-11.4 s)


def training_record() -> dict[str, Any] | None:
    """The bundled adapter's training record (data seed, steps, codecarbon's emissions...), or None if absent."""
    from greentui.core.models.hub import bundled_adapter_folder

    folder = bundled_adapter_folder(DEMO_ADAPTER)
    if folder is None:
        return None
    try:
        record = json.loads((folder / TRAINING_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def demo_config(
    *,
    quantized: bool = False,
    task: str | None = None,
    limit: int | None = None,
    max_items: int | None = None,
    country: str | None = None,
    power_source: str = "auto",
) -> SessionConfig:
    """The demo's SessionConfig: the adapter race (stopping on, fine-tune mode with the training emissions), or
    with ``quantized`` the fp32-vs-nf4 race on ``QUANTIZED_LIMIT`` items."""
    from greentui.core.run.session import SessionConfig

    if quantized:
        return SessionConfig(
            model_a=DEMO_MODEL_A,
            model_b=QUANTIZED_MODEL_B,
            task=task or QUANTIZED_TASK,
            limit=limit or QUANTIZED_LIMIT,
            max_items=max_items,
            country=country,
            power_source=power_source,
        )
    record = training_record() or {}
    grams = record.get("emissions_g")
    return SessionConfig(
        model_a=DEMO_MODEL_A,
        model_b=DEMO_MODEL_B,
        task=task or DEMO_TASK,
        limit=limit,
        max_items=max_items or DEMO_MAX_ITEMS,
        country=country,
        power_source=power_source,
        stop_when_settled=True,
        order_seed=DEMO_ORDER_SEED,
        # CEGI's fine-tune mode: the training's emissions are charged to this run (no amortisation over answers)
        training_emissions_g=float(grams) if isinstance(grams, (int, float)) else None,
    )


# ---------------------------------------------------------------------------------------------------------------
# How long it expects to take
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    typical_s: float
    most_s: float  # if it runs to the item cap without settling
    basis: str  # what the figures come from

    def line(self) -> str:
        return (
            f"expected on this machine: about {_duration(self.typical_s)}, at most about {_duration(self.most_s)} "
            f"(estimate from {self.basis})"
        )


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest} s"


def _probe_seconds() -> float:
    """Seconds for a fixed piece of pure-Python work, the median of seven rounds: how much of a core this process
    gets now (a busy machine stretches it as it stretches the models' generation). Pure Python on purpose: a BLAS
    workload would start its own threads and measure their contention instead."""
    rounds = []
    for _ in range(7):
        started = time.perf_counter()
        total = 0
        for i in range(100_000):
            total += i * i
        rounds.append(time.perf_counter() - started)
    return statistics.median(rounds)


def _conversion_needed() -> bool:
    """True when the offline model's GGUF has not been converted into greentui's cache yet (the first run)."""
    from greentui.core.models.hf_gguf_cache import cached_conversion
    from greentui.core.models.resolve import offline_gguf_path

    gguf = offline_gguf_path()
    return gguf is not None and cached_conversion(gguf) is None


def _last_demo(store: SessionStore, config: SessionConfig) -> tuple[float, int, int] | None:
    """(wall seconds, items per side, items planned) of the newest completed demo like ``config`` in ``store``."""
    try:
        rows = store.list_sessions(task=config.task, model=DEMO_ADAPTER, status="completed", limit=20)
    except Exception:  # an unreadable store only costs the estimate its history
        return None
    for row in rows:
        if (row.model_a, row.model_b) != (config.model_a, config.model_b) or row.ended_unix_s is None:
            continue
        done = max(row.a.items_done, row.b.items_done)
        if done:
            return row.ended_unix_s - row.started_unix_s, done, row.n_items
    return None


def expected_duration(config: SessionConfig, store: SessionStore | None) -> Expected:
    """How long the adapter demo should take here: from the last such demo in ``store``, else from the reference
    figures scaled by :func:`_probe_seconds` run now; plus the first-run conversion where it is still to do."""
    conversion = _conversion_needed()
    probe = _probe_seconds()
    scale = max(0.1, probe / REFERENCE_PROBE_S)
    cap = config.max_items or DEMO_MAX_ITEMS
    last = _last_demo(store, config) if store is not None else None
    if last is not None:
        wall_s, done, _ = last
        # the same seed runs the same items, so it settles where it did; the cap scales the whole run (an upper
        # figure: the loading does not grow with the items)
        typical, most = wall_s, wall_s * max(1.0, cap / done)
        basis = f"the last demo here: {_duration(wall_s)} for {done} items a side"
    else:
        typical = scale * (REFERENCE_OVERHEAD_S + REFERENCE_PAIR_S * min(cap, REFERENCE_PAIRS))
        most = scale * (REFERENCE_OVERHEAD_S + REFERENCE_PAIR_S * cap)
        basis = f"a 2-core reference run, scaled by a CPU probe run now ({scale:.1f}× its time)"
    if conversion:
        typical += scale * REFERENCE_CONVERSION_S
        most += scale * REFERENCE_CONVERSION_S
        basis += ", with the first-run model conversion"
    return Expected(typical, max(typical, most), basis)


def describe(config: SessionConfig) -> str:
    """One line on what the demo races."""
    if config.model_b == QUANTIZED_MODEL_B:
        return (
            f"demo: {config.model_a} (the Q4_1 GGUF dequantized to fp32) against {config.model_b} (then quantized "
            f"to bitsandbytes nf4) on {config.task}, {config.limit} items each"
        )
    grams = config.training_emissions_g
    training = f"training emissions {grams:.3g} g CO2e (codecarbon)" if grams is not None else "no training record"
    return (
        f"demo: {config.model_a} against the same model + the bundled LoRA adapter {DEMO_ADAPTER} on "
        f"{config.task}; CEGI fine-tune mode, {training}; stops when settled (at most {config.max_items} items each)"
    )


def adapter_folder() -> Path | None:
    from greentui.core.models.hub import bundled_adapter_folder

    return bundled_adapter_folder(DEMO_ADAPTER)
