"""Running figures of a session, folded from its events.

The headless printer, the live screen and the history replay all feed events into a :class:`Tally` and read the
same numbers from it, so the three views cannot disagree. Pure bookkeeping: no threads, no I/O.
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field

from greentui.core.models.spec import ModelSpec, SpecError
from greentui.core.records import (
    SIDES,
    Event,
    GridIntensity,
    IdleMeasured,
    ItemScored,
    ItemStarted,
    ModelLoaded,
    ModelLoading,
    PowerSample,
    PowerSampled,
    Quality,
    RunFailed,
    SessionFinished,
    SessionStarted,
    Side,
    StoppingChecked,
    TokenEvent,
)
from greentui.core.run.stopping import PairStopper
from greentui.core.verdict.compute import SideInput, Verdict, compute_verdict
from greentui.core.verdict.stats import RunningScore, running_score
from greentui.core.verdict.stopping import summarise as summarise_stopping


@dataclass
class SideTally:
    """Everything the live view shows for one model, updated item by item."""

    side: Side
    spec: str = ""
    display_name: str = ""
    state: str = "waiting"  # waiting / loading / ready / generating / done / failed
    load_stage: str = ""
    load_fraction: float | None = None
    loaded: ModelLoaded | None = None
    failed_reason: str | None = None
    items: list[ItemScored] = field(default_factory=list)
    # the item being generated now
    current_item_id: str | None = None
    current_prompt: str = ""
    current_output: str = ""
    current_tokens: int = 0
    current_started_mono_s: float | None = None
    last_token_mono_s: float | None = None
    _score: RunningScore | None = None

    # ---- folded figures ------------------------------------------------------------------------
    @property
    def items_done(self) -> int:
        return len(self.items)

    @property
    def score_sum(self) -> float:
        return sum(item.score for item in self.items)

    @property
    def energy_j(self) -> float | None:
        """Total energy of the finished items' windows; None while no item has an energy figure."""
        values = [item.joules for item in self.items if item.joules is not None]
        return sum(values) if values else None

    @property
    def tokens_out(self) -> int:
        return sum(item.tokens_out for item in self.items)

    @property
    def seconds(self) -> float:
        return sum(item.seconds for item in self.items)

    @property
    def joules_per_token(self) -> float | None:
        energy = self.energy_j
        return energy / self.tokens_out if energy is not None and self.tokens_out else None

    @property
    def joules_per_correct(self) -> float | None:
        """Run energy per correct answer (per unit of score, for continuous metrics); None if nothing is correct."""
        energy = self.energy_j
        return energy / self.score_sum if energy is not None and self.score_sum > 0 else None

    @property
    def tokens_per_s(self) -> float | None:
        """End-to-end tokens per second over the finished items (generated tokens / generation time)."""
        return self.tokens_out / self.seconds if self.seconds > 0 else None

    @property
    def ttft_p50_s(self) -> float | None:
        values = [item.ttft_s for item in self.items if item.ttft_s is not None]
        return statistics.median(values) if values else None

    @property
    def score(self) -> RunningScore | None:
        return self._score


@dataclass
class Tally:
    """Folds a session's event stream into per-side running figures. Feed it with :meth:`apply`."""

    started: SessionStarted | None = None
    finished: SessionFinished | None = None
    idle: IdleMeasured | None = None
    sides: dict[Side, SideTally] = field(default_factory=lambda: {side: SideTally(side) for side in SIDES})
    active_side: Side | None = None
    latest_power: dict[str, PowerSample] = field(default_factory=dict)
    continuous: bool = False
    # the stopping rule, recomputed from the items (so a replay shows it too) for sessions run in a seeded order
    stopper: PairStopper | None = None

    @property
    def stopping(self) -> StoppingChecked | None:
        """The stopping rule after the latest complete pair (None: no rule, or no pair yet)."""
        return self.stopper.latest if self.stopper is not None else None

    @property
    def grid(self) -> GridIntensity | None:
        return self.started.grid if self.started else None

    @property
    def n_items(self) -> int:
        return self.started.n_items if self.started else 0

    @property
    def items_done(self) -> int:
        return sum(side.items_done for side in self.sides.values())

    @property
    def items_total(self) -> int:
        """Items both sides will run (a failed side's remaining items no longer count)."""
        total = 0
        for side in self.sides.values():
            total += side.items_done if side.state == "failed" else self.n_items
        return total

    @property
    def power_now_w(self) -> float | None:
        """Sum of the latest reading of every device (None where no device reports power)."""
        values = [s.power_w for s in self.latest_power.values() if s.power_w is not None]
        return sum(values) if values else None

    def co2_g(self, side: Side) -> float | None:
        grid = self.grid
        return grid.grams_co2e(self.sides[side].energy_j) if grid else None

    def eta_s(self, now_mono_s: float) -> float | None:
        """Time left, from the mean pace of the finished items."""
        if not self.started or self.items_done == 0:
            return None
        finished = [i for s in self.sides.values() for i in s.items]
        first = min(i.started_mono_s for i in finished)
        pace = (now_mono_s - first) / len(finished)
        return max(0.0, (self.items_total - self.items_done) * pace)

    def apply(self, event: Event) -> None:
        if isinstance(event, PowerSampled):
            self.latest_power[event.sample.device] = event.sample
        elif isinstance(event, TokenEvent):
            lane = self.sides[event.side]
            lane.current_output += event.text
            lane.current_tokens = event.n_tokens
            lane.last_token_mono_s = event.t_mono_s
        elif isinstance(event, ItemStarted):
            lane = self.sides[event.side]
            lane.state = "generating"
            lane.current_item_id = event.item_id
            lane.current_prompt = event.prompt
            lane.current_output = ""
            lane.current_tokens = 0
            lane.current_started_mono_s = event.t_mono_s
            self.active_side = event.side
        elif isinstance(event, ItemScored):
            lane = self.sides[event.side]
            lane.items.append(event)
            lane.current_output = event.output
            lane.state = "ready"
            lane._score = running_score([i.score for i in lane.items], continuous=self.continuous)
            if self.stopper is not None:
                self.stopper.observe(event)
            if self.active_side == event.side:
                self.active_side = None
        elif isinstance(event, SessionStarted):
            self.started = event
            self.continuous = bool(event.settings.get("task_info", {}).get("continuous", False))
            self.sides["A"].spec = event.model_a
            self.sides["B"].spec = event.model_b
            self.stopper = PairStopper.from_settings(event.settings, event.n_items)
        elif isinstance(event, ModelLoading):
            lane = self.sides[event.side]
            lane.state, lane.load_stage, lane.load_fraction = "loading", event.stage, event.fraction
        elif isinstance(event, ModelLoaded):
            lane = self.sides[event.side]
            lane.state, lane.loaded, lane.display_name = "ready", event, event.display_name
        elif isinstance(event, RunFailed):
            lane = self.sides[event.side]
            lane.state, lane.failed_reason = "failed", event.reason
            if self.active_side == event.side:
                self.active_side = None
        elif isinstance(event, IdleMeasured):
            self.idle = event
        elif isinstance(event, SessionFinished):
            self.finished = event
            self.active_side = None
            for lane in self.sides.values():
                if lane.state != "failed":
                    lane.state = "done"


def verdict_from_tally(tally: Tally, *, seed: int = 0) -> Verdict:
    """The verdict of what the tally has seen so far (a finished session, or the part of it that finished)."""
    if tally.started is None:
        raise ValueError("no session has started")
    settings = tally.started.settings
    task = settings.get("task_info", {})
    inputs = []
    for lane in tally.sides.values():
        loaded = lane.loaded
        spec = _parsed(lane.spec)
        inputs.append(
            SideInput(
                side=lane.side,
                spec=lane.spec,
                display_name=lane.display_name or lane.spec,
                # 0 = unknown (not loaded, or a served model with no count): the CEGI says "no parameters"
                params_total=(loaded.params_total or 0) if loaded else 0,
                params_trainable=(loaded.params_trainable or 0) if loaded else 0,
                has_adapter=spec is not None and spec.adapter is not None,
                quant=loaded.quant if loaded else "",
                items=tuple(lane.items),
                failed_reason=lane.failed_reason,
            )
        )
    fine_tune = _is_fine_tune(tally.sides["A"].spec, tally.sides["B"].spec)
    idle = tally.idle
    quality: Quality = (
        "estimated"
        if any(item.energy_quality == "estimated" for lane in tally.sides.values() for item in lane.items)
        or tally.started.power_quality == "estimated"
        else "measured"
    )
    verdict = compute_verdict(
        inputs[0],
        inputs[1],
        task_name=task.get("name", tally.started.task_name),
        metric=task.get("metric", "accuracy"),
        baseline_s0=float(task.get("baseline", 0.0)),
        continuous=bool(task.get("continuous", False)),
        grid=tally.started.grid,
        idle_power_w=idle.power_w if idle and idle.seconds > 0 else None,
        energy_quality=quality,
        energy_source=tally.started.power_note,
        fine_tune=fine_tune,
        requests_per_day=float(settings.get("requests_per_day") or 1e6),
        training_emissions_g=settings.get("training_emissions_g"),
        amortize_answers=settings.get("amortize_answers"),
        seed=seed,
    )
    check = tally.stopping
    if check is not None and tally.stopper is not None:
        stopping = summarise_stopping(
            check,
            [lane.items for lane in tally.sides.values()],
            stop_when_settled=tally.stopper.stop_when_settled,
            settled_after=tally.stopper.settled_after,
            order_seed=settings.get("order_seed"),
        )
        verdict = dataclasses.replace(verdict, stopping=stopping)
    return verdict


def _parsed(text: str) -> ModelSpec | None:
    try:
        return ModelSpec.parse(text)
    except SpecError:
        return None


def _is_fine_tune(spec_a: str, spec_b: str) -> bool:
    """Fine-tune mode (DESIGN section 4): model B is model A plus a PEFT adapter."""
    a, b = _parsed(spec_a), _parsed(spec_b)
    return a is not None and b is not None and a.adapter is None and b.adapter is not None and b.base() == a
