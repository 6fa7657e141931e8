"""The verdict of a session from its tally: the inputs ``compute_verdict`` reads, copied out of a :class:`Tally`.

Split from :mod:`greentui.core.run.tally` (which only folds events into running figures): this module turns the
folded session into the verdict's inputs (each side's loaded model and items, the task, the configuration, the
idle baseline, the stopping rule's summary) and decides between a stored verdict and a recomputed one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any

from greentui.core.records import ModelLoaded, Quality
from greentui.core.run.tally import Tally
from greentui.core.verdict.compute import SideInput, Verdict, VerdictError, compute_verdict
from greentui.core.verdict.stopping import summarise as summarise_stopping

__all__ = ["is_fine_tune", "session_verdict", "verdict_from_tally"]


def verdict_from_tally(tally: Tally, *, seed: int = 0) -> Verdict:
    """The verdict of what the tally has seen so far (a finished session, or the part of it that finished).

    The inputs are copied under the tally's lock; the bootstrap runs after, so a running session is not held up.
    """
    with tally.lock:
        judge = _verdict_call(tally)
    return judge(seed=seed)


def is_fine_tune(loaded_a: ModelLoaded | None, loaded_b: ModelLoaded | None) -> bool:
    """Fine-tune mode (DESIGN section 4): model B is model A plus a PEFT adapter (both must have loaded)."""
    return (
        loaded_a is not None
        and loaded_b is not None
        and not loaded_a.has_adapter
        and loaded_b.has_adapter
        and loaded_b.base_spec == loaded_a.spec
    )


def _verdict_call(tally: Tally) -> Callable[..., Verdict]:
    """``compute_verdict`` bound to a copy of what it reads from the tally (the items as tuples)."""
    if tally.started is None:
        raise ValueError("no session has started")
    task, config = tally.started.task, tally.started.config
    inputs = []
    for lane in tally.sides.values():
        loaded = lane.loaded
        inputs.append(
            SideInput(
                side=lane.side,
                spec=lane.spec,
                display_name=lane.display_name or lane.spec,
                # 0 = unknown (not loaded, or a served model with no count): the CEGI says "no parameters"
                params_total=(loaded.params_total or 0) if loaded else 0,
                params_trainable=(loaded.params_trainable or 0) if loaded else 0,
                has_adapter=loaded is not None and loaded.has_adapter,
                quant=loaded.quant if loaded else "",
                items=tuple(lane.items),
                failed_reason=lane.failed_reason,
                provenance=loaded.provenance if loaded else "",
                energy_note=lane.energy_note,
            )
        )
    idle = tally.idle
    quality: Quality = (
        "estimated"
        if any(item.energy_quality == "estimated" for lane in tally.sides.values() for item in lane.items)
        or tally.started.power_quality == "estimated"
        else "measured"
    )
    judge = partial(
        compute_verdict,
        inputs[0],
        inputs[1],
        task_name=task.name,
        metric=task.metric,
        baseline_s0=task.baseline,
        continuous=task.continuous,
        grid=tally.started.grid,
        idle_power_w=idle.power_w if idle and idle.seconds > 0 else None,
        energy_quality=quality,
        energy_source=tally.started.power_note,
        fine_tune=is_fine_tune(tally.sides["A"].loaded, tally.sides["B"].loaded),
        requests_per_day=config.requests_per_day,
        training_emissions_g=config.training_emissions_g,
        amortize_answers=config.amortize_answers,
        idle_contended=bool(idle and idle.seconds > 0 and idle.contended),
        idle_contention_share=idle.contention_share if idle and idle.seconds > 0 else None,
    )
    check = tally.stopping
    stopping = None
    if check is not None and tally.stopper is not None:
        stopping = summarise_stopping(
            check,
            [tuple(lane.items) for lane in tally.sides.values()],
            stop_when_settled=tally.stopper.stop_when_settled,
            settled_after=tally.stopper.settled_after,
            order_seed=config.order_seed,
        )

    def call(*, seed: int) -> Verdict:
        verdict = judge(seed=seed)
        return dataclasses.replace(verdict, stopping=stopping) if stopping is not None else verdict

    return call


def session_verdict(stored: dict[str, Any] | None, tally: Tally, *, seed: int = 0) -> Verdict | None:
    """The verdict to show for a session: the stored one when it reads as this version's format, else recomputed
    from the stored items (a verdict stored by an older release, or damaged); None with no finished item."""
    if stored:
        try:
            return Verdict.from_dict(stored)
        except VerdictError:
            pass  # recomputed below: the items, settings and idle baseline are all in the store
    if tally.started is None or not any(lane.items for lane in tally.sides.values()):
        return None
    stored_seed = stored.get("seed") if isinstance(stored, dict) else None
    return verdict_from_tally(tally, seed=stored_seed if isinstance(stored_seed, int) else seed)
