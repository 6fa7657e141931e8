"""Running figures of a session, folded from its events.

The headless printer, the live screen and the history replay all feed events into a :class:`Tally` and read the
same numbers from it; the figures themselves are defined once, in :mod:`greentui.core.figures`, which the verdict
uses too. Pure bookkeeping, no I/O. Every update costs the same at item 800 as at item 5 (running sums, no
resampling: the verdict's bootstrap runs once, at the end).

A session's one tally is fed on the session thread and the sampler thread and read by the live view on the UI
thread: :meth:`Tally.apply` holds :attr:`Tally.lock`, and a reader that needs several figures from one moment takes
it too (briefly: every update is O(1), so neither side waits long on the other).
"""

from __future__ import annotations

import bisect
import statistics
import threading
from dataclasses import dataclass, field

from greentui.core.figures import SideFigures
from greentui.core.measure.served_energy import is_not_measured
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
    RunFailed,
    SessionFinished,
    SessionStarted,
    Side,
    StoppingChecked,
    TokenEvent,
)
from greentui.core.run.stopping import PairStopper
from greentui.core.verdict.compute import tokens_source
from greentui.core.verdict.stats import RunningScore, running_score_of
from greentui.core.verdict.text import busy_line
from greentui.format import format_cpu_share


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
    figures: SideFigures = field(default_factory=SideFigures)
    # a served lane whose server works elsewhere: "energy not measured here: <why>" (core.measure.served_energy)
    energy_note: str | None = None
    _score: RunningScore | None = None
    _ttfts: list[float] = field(default_factory=list)  # sorted, for the median
    # contention of this side's windows, folded item by item (see core/measure/contention.py)
    contended_items: int = 0
    contention_items: int = 0  # items that recorded contention at all
    _share_seconds: float = 0.0  # sum of seconds over items with a share
    _share_weighted: float = 0.0  # sum of share x seconds
    process_scope: bool = False  # some energy figure is charged to this side's processes (CPU estimate)

    @property
    def other_cpu_share(self) -> float | None:
        """Time-weighted share of CPU time other programs used during this side's windows."""
        return self._share_weighted / self._share_seconds if self._share_seconds > 0 else None

    @property
    def label(self) -> str:
        """The model's name with where its weights came from, once it has loaded."""
        if self.loaded is not None:
            return self.loaded.label
        return self.display_name or self.spec

    def add(self, item: ItemScored) -> None:
        """Fold one finished item in: O(1) but for the sorted insert of its TTFT."""
        self.items.append(item)
        self.figures.add(item)
        self._score = running_score_of(self.figures)
        if item.ttft_s is not None:
            bisect.insort(self._ttfts, item.ttft_s)

    # ---- folded figures (defined in greentui.core.figures) ------------------------------------------------
    @property
    def items_done(self) -> int:
        return self.figures.n

    @property
    def score_sum(self) -> float:
        return self.figures.score_sum

    @property
    def correct_equivalent(self) -> float:
        return self.figures.correct_equivalent

    @property
    def energy_j(self) -> float | None:
        """Total energy of the finished items' windows; None while no item has an energy figure."""
        return self.figures.energy_j

    @property
    def tokens_out(self) -> int | None:
        """New tokens of the items whose count is known; None while none is (a server that reports no usage)."""
        return self.figures.tokens_known

    @property
    def tokens_counted_by(self) -> str:
        """Where the token counts came from ("generated ids", "reported by the server", ...); "" before any item."""
        return tokens_source(self.items)

    @property
    def seconds(self) -> float:
        return self.figures.seconds

    @property
    def joules_per_token(self) -> float | None:
        return self.figures.joules_per_token

    @property
    def joules_per_correct(self) -> float | None:
        """Energy per correct answer (per unit of score, for continuous metrics); None if nothing is correct."""
        return self.figures.joules_per_correct

    @property
    def tokens_per_s(self) -> float | None:
        """End-to-end tokens per second over the finished items with a token count (tokens / their time)."""
        return self.figures.tokens_per_s

    @property
    def ttft_p50_s(self) -> float | None:
        values = self._ttfts
        if not values:
            return None
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

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
    # held by apply() and by readers that need one consistent moment (the live view, the verdict's inputs)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
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

    def busy_line(self) -> str | None:
        """The one plain line saying the machine was busy while measuring (windows or the idle baseline)."""
        lanes = list(self.sides.values())
        contended = sum(lane.contended_items for lane in lanes)
        idle_busy = self.idle is not None and self.idle.contended
        if not contended and not idle_busy:
            return None
        if not contended and self.idle is not None:
            share = self.idle.contention_share
            what = "" if share is None else f": {format_cpu_share(share)} went to other programs"
            return f"the machine was busy during the idle baseline{what}; dynamic energy is not available"
        seconds = sum(lane._share_seconds for lane in lanes)
        share = sum(lane._share_weighted for lane in lanes) / seconds if seconds > 0 else None
        return busy_line(
            share,
            process_scope=any(lane.process_scope for lane in lanes),
            contended=contended,
            windows=sum(lane.contention_items for lane in lanes),
        )

    def co2_g(self, side: Side) -> float | None:
        grid = self.grid
        return grid.grams_co2e(self.sides[side].energy_j) if grid else None

    def eta_s(self, now_mono_s: float) -> float | None:
        """Time left: each side's median item time times the items that side has left, summed (one model works
        at a time; the longer side only under the ``parallel`` schedule). An item's time runs from its start to
        the next item's start, so scoring and switching count; the median keeps one slow item, or the gap of a
        resumed session, from swinging the estimate. The item in flight counts by what is left of it. None
        until an item has finished."""
        if not self.started or self.items_done == 0:
            return None
        parallel = self.started.schedule == "parallel"
        in_flight = {
            side: lane.current_started_mono_s
            for side, lane in self.sides.items()
            if lane.state == "generating" and lane.current_started_mono_s is not None
        }
        walls: dict[Side, list[float]] = {side: [] for side in self.sides}
        groups = [[side] for side in self.sides] if parallel else [list(self.sides)]
        for group in groups:
            finished = sorted((i for side in group for i in self.sides[side].items), key=lambda i: i.started_mono_s)
            next_starts = [i.started_mono_s for i in finished[1:]]
            pending = sorted(t for side, t in in_flight.items() if side in group)
            for index, item in enumerate(finished):
                later = [t for t in (*next_starts[index : index + 1], *pending) if t > item.started_mono_s]
                wall = (min(later) if later else item.ended_mono_s) - item.started_mono_s
                if wall > 0:
                    walls[item.side].append(wall)
        every = [w for values in walls.values() for w in values]
        if not every:
            return None
        overall = statistics.median(every)
        left_s: dict[Side, float] = {}
        for side, lane in self.sides.items():
            if lane.state == "failed":
                left_s[side] = 0.0
                continue
            median = statistics.median(walls[side]) if walls[side] else overall
            left = max(0, self.n_items - lane.items_done)
            started_at = in_flight.get(side)
            if started_at is not None and left > 0:
                left_s[side] = (left - 1) * median + max(0.0, median - (now_mono_s - started_at))
            else:
                left_s[side] = left * median
        return max(left_s.values()) if parallel else sum(left_s.values())

    def apply(self, event: Event) -> None:
        """Fold one event in (thread-safe: the session and the sampler thread both call it)."""
        with self.lock:
            self._apply(event)

    def _apply(self, event: Event) -> None:
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
            lane.add(event)
            lane.current_output = event.output
            lane.state = "ready"
            lane.contended_items += event.contended
            lane.process_scope = lane.process_scope or event.energy_scope == "process tree"
            if event.contention_share is not None or event.contended:
                lane.contention_items += 1
            if event.contention_share is not None:
                lane._share_seconds += event.seconds
                lane._share_weighted += event.contention_share * event.seconds
            if event.joules is None and is_not_measured(event.energy_source):
                lane.energy_note = event.energy_source
            if self.stopper is not None:
                self.stopper.observe(event)
            if self.active_side == event.side:
                self.active_side = None
        elif isinstance(event, SessionStarted):
            self.started = event
            self.continuous = event.task.continuous
            for lane in self.sides.values():
                lane.figures.continuous = self.continuous
            self.sides["A"].spec = event.model_a
            self.sides["B"].spec = event.model_b
            for side, where in (event.settings.get("served_energy") or {}).items():
                if side in self.sides and isinstance(where, dict):
                    self.sides[side].energy_note = where.get("not_measured")
            self.stopper = PairStopper.from_started(event.config, event.settings, event.n_items)
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
