"""Deterministic event streams for tests of everything that consumes events (tally, printer, store, TUI)."""

from __future__ import annotations

from greentui.core.records import (
    GridIntensity,
    IdleMeasured,
    ItemScored,
    ItemStarted,
    ModelLoaded,
    PowerSample,
    PowerSampled,
    SessionFinished,
    SessionStarted,
    Side,
)
from tests.helpers.started import started_from_flat


def started(n_items: int = 3, *, continuous: bool = False, session_id: str = "s1") -> SessionStarted:
    return started_from_flat(
        session_id=session_id,
        task_id="arithmetic",
        task_name="Arithmetic",
        n_items=n_items,
        schedule="alternate",
        model_a="smollm2-135m@fp32",
        model_b="smollm2-135m@nf4",
        power_sources=("replay:cpu",),
        power_quality="estimated",
        power_note="replay (test)",
        grid=GridIntensity(g_per_kwh=360.0, source="user"),
        started_unix_s=1_700_000_000.0,
        t_mono_s=0.0,
        settings={"task_info": {"metric": "accuracy", "baseline": 0.0, "continuous": continuous, "name": "Arithmetic"}},
    )


def loaded(side: Side, params: int = 134_515_008) -> ModelLoaded:
    spec = "smollm2-135m@fp32" if side == "A" else "smollm2-135m@nf4"
    return ModelLoaded(
        side=side,
        spec=spec,
        display_name=f"smollm2-135m {side}",
        params_total=params,
        params_trainable=params,
        weight_bytes=params * 4,
        dtype="fp32",
        quant="none" if side == "A" else "nf4",
        device="cpu",
        load_s=0.5,
        peak_rss_bytes=None,
        peak_cuda_bytes=None,
        t_mono_s=0.5,
        base_spec=spec,  # as a session sets it: the spec without an adapter (none here)
    )


def scored(
    side: Side, idx: int, *, score: float, joules: float | None, start: float, seconds: float = 1.0, tokens: int = 10
) -> ItemScored:
    return ItemScored(
        side=side,
        item_id=f"item-{idx}",
        index=idx,
        prompt=f"question {idx}",
        output="42",
        answer="42",
        reference="42",
        score=score,
        tokens_in=20,
        tokens_out=tokens,
        ttft_s=0.1,
        seconds=seconds,
        joules=joules,
        energy_quality="estimated",
        energy_source="replay",
        energy_flagged=False,
        started_mono_s=start,
        first_token_mono_s=start + 0.1,
        last_token_mono_s=start + seconds,
        ended_mono_s=start + seconds,
    )


def item_started(side: Side, idx: int, start: float) -> ItemStarted:
    return ItemStarted(side=side, item_id=f"item-{idx}", index=idx, prompt=f"question {idx}", t_mono_s=start)


def power(t: float, watts: float) -> PowerSampled:
    return PowerSampled(PowerSample(t_mono_s=t, device="cpu", power_w=watts, source="replay", quality="estimated"))


def idle(watts: float = 5.0) -> IdleMeasured:
    return IdleMeasured(
        seconds=2.0, joules=2 * watts, power_w=watts, quality="estimated", source="replay", t_mono_s=2.5
    )


def finished(status: str = "completed") -> SessionFinished:
    return SessionFinished(status=status, reason="", t_mono_s=100.0, ended_unix_s=1_700_000_100.0)  # type: ignore[arg-type]
