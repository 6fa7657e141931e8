"""What the live screen's widgets show, as small frozen values built from a session's one tally.

:func:`live_view` reads the tally once per frame, under its lock, and turns it into the strings and numbers the
header, the two lanes and the progress line draw. The widgets never see a :class:`Tally`: they cannot read it
half-updated while the session thread folds an event in, they are tested with plain values, and a stored
session replayed into a tally draws exactly as a live one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.text import Text

from greentui.core.records import SIDES, Side
from greentui.core.run.tally import SideTally, Tally
from greentui.core.verdict.stopping import accuracy_interval, energy_interval, outcome_words
from greentui.format import (
    DASH,
    format_cpu_share,
    format_grams,
    format_intensity,
    format_item_score,
    format_j_per_token,
    format_joules,
    format_params,
    format_percent,
    format_power,
    format_score,
    format_seconds,
    format_tokens_per_s,
    format_wh,
)
from greentui.tui.formatting import shorten

# (key, label), most important first: power, energy, J/token and the score (with its interval and the est. mark)
# stay at every size; TTFT and tokens/s fold away first when the lane is small, then CO2e and J/correct.
TILES = (
    ("power", "power now"),
    ("energy", "energy so far"),
    ("jpt", "J / token"),
    ("score", "accuracy"),  # relabelled with the task's metric (ROUGE-L F1, pass@1, ...)
    ("jpc", "J / correct"),
    ("co2", "CO2e"),
    ("speed", "tokens/s"),
    ("ttft", "TTFT p50"),
)
LABELS = dict(TILES)


@dataclass(frozen=True)
class TileView:
    """One metric tile: its label, the figure, a note under it, and whether the figure is an estimate."""

    key: str
    label: str
    value: str
    note: str = ""
    estimated: bool = False


LineKind = Literal["plain", "bold", "loading", "generating", "answered"]


@dataclass(frozen=True)
class LaneLine:
    """The lane's item line; ``kind`` says how the lane draws it.

    ``plain`` / ``bold``: ``text`` alone. ``loading``: ``text`` shown literally (the stage comes from the model's
    loader). ``generating``: ``text`` (``item 5/8  ``) in bold, then ``prompt`` in italics. ``answered``: ``text``
    (``item 4/8 ✓  answer ``), the ``answer`` and the ``expected`` one in bold, then ``tail``.
    """

    kind: LineKind
    text: str
    prompt: str = ""
    answer: str = ""
    expected: str = ""
    tail: str = ""


@dataclass(frozen=True)
class LaneView:
    """One model's lane: its title, the item line, the output so far and the metric tiles (in ``TILES`` order)."""

    side: Side
    title_spec: str  # the spec as typed (else the display name)
    # `` · SmolLM2-135M-Instruct · from Q4_1 GGUF, dequantized to fp32 · 134.5 M · cpu`` once the model has
    # loaded (the name with where its weights came from, when known), else ""
    title_detail: str
    failed: bool
    active: bool  # this model is generating (and so measured) now
    line: LaneLine
    output: str  # untrusted model output (or the failure): drawn literally
    streaming: bool
    tiles: tuple[TileView, ...]
    energy_note: str | None = None  # a served lane whose server is elsewhere: "energy not measured here: <why>"
    busy: str | None = None  # `` machine busy in 3 of 8 measurements: 40 % of CPU time to other programs ``

    @property
    def subtitle(self) -> str | None:
        """The one line under the lane: why its energy is not measured here, else that the machine was busy."""
        return self.energy_note or self.busy


@dataclass(frozen=True)
class HeaderView:
    """The session summary at the top (``task_name`` None before the session has started)."""

    state: str
    task_name: str | None = None
    category: str = ""
    n_items: int = 0
    schedule: str = ""
    grid_g_per_kwh: float = 0.0
    grid_source: str = ""
    power_note: str = ""  # where every figure comes from: "estimated (no RAPL, no GPU)"
    power_quality: str = ""
    busy: str | None = None  # the machine was busy while measuring (windows or the idle baseline), in one line


@dataclass(frozen=True)
class ProgressView:
    """Items done of the total (both sides), the rough time left (None: no estimate yet) and the run state."""

    items_done: int
    items_total: int
    eta_s: float | None
    state: str


@dataclass(frozen=True)
class LiveView:
    """One frame of the live screen."""

    header: HeaderView
    lanes: tuple[LaneView, LaneView]
    progress: ProgressView
    stopping: Text | None = None  # the stopping rule's two lines; None for a session without one

    def lane(self, side: Side) -> LaneView:
        return self.lanes[SIDES.index(side)]


def live_view(tally: Tally, *, state: str, ended: bool = False, now_mono_s: float | None = None) -> LiveView:
    """The frame for ``tally`` now (one lock, held for the few reads a frame needs).

    ``state``: the run state in words. ``ended``: no more events will come (a replay of a session that crashed
    ends without its SessionFinished, its item in flight lost). ``now_mono_s``: the session clock for the ETA.
    """
    with tally.lock:
        return LiveView(
            header=header_view(tally, state),
            lanes=(lane_view(tally, "A", ended=ended), lane_view(tally, "B", ended=ended)),
            progress=progress_view(tally, now_mono_s, state),
            stopping=stopping_text(tally) if tally.stopper is not None else None,
        )


def header_view(tally: Tally, state: str) -> HeaderView:
    started = tally.started
    if started is None:
        return HeaderView(state)
    return HeaderView(
        state=state,
        task_name=started.task_name,
        category=started.task.category,
        n_items=started.n_items,
        schedule=started.schedule,
        grid_g_per_kwh=started.grid.g_per_kwh,
        grid_source=started.grid.source,
        power_note=started.power_note or started.power_quality,
        power_quality=started.power_quality,
        busy=tally.busy_line(),
    )


def progress_view(tally: Tally, now_mono_s: float | None, state: str) -> ProgressView:
    eta = tally.eta_s(now_mono_s) if now_mono_s is not None and tally.finished is None else None
    return ProgressView(tally.items_done, tally.items_total, eta, state)


def metric_name(tally: Tally) -> str:
    """The task's metric as its task.toml names it (``ROUGE-L F1``, ``pass@1``), else ``accuracy``."""
    started = tally.started
    return (started.task.metric if started is not None else "") or "accuracy"


def is_estimated(tally: Tally) -> bool:
    """True when the session's power figures come from an estimate rather than a sensor."""
    return tally.started is not None and tally.started.power_quality == "estimated"


def power_source_label(tally: Tally) -> str:
    """The sources behind the latest power readings, e.g. ``estimate`` or ``nvml+rapl``."""
    sources = sorted({sample.source for sample in tally.latest_power.values()})
    return "+".join(sources)


def lane_busy_line(lane: SideTally) -> str | None:
    """The lane's share of the busy line: how many of its measurements other programs disturbed."""
    if not lane.contended_items:
        return None
    share = lane.other_cpu_share
    what = "" if share is None else f": {format_cpu_share(share)} to other programs"
    return f" machine busy in {lane.contended_items} of {lane.items_done} measurements{what} "


def lane_view(tally: Tally, side: Side, *, ended: bool = False) -> LaneView:
    lane = tally.sides[side]
    detail = ""
    if lane.loaded is not None:
        loaded = lane.loaded
        params = format_params(loaded.params_total) if loaded.params_total else "? params"
        detail = f" · {lane.label} · {params} · {loaded.device}"
    cut_short = ended and tally.finished is None and lane.state not in ("failed", "done")
    return LaneView(
        side=side,
        title_spec=lane.spec or lane.display_name or DASH,
        title_detail=detail,
        failed=lane.state == "failed",
        active=tally.active_side == side,
        line=_stopped_line(tally, lane) if cut_short else _status_line(tally, lane),
        output=(lane.failed_reason or "") if lane.state == "failed" else lane.current_output,
        streaming=lane.state == "generating" and not cut_short,
        tiles=_tiles(tally, lane),
        energy_note=lane.energy_note,
        busy=lane_busy_line(lane),
    )


def _stopped_line(tally: Tally, lane: SideTally) -> LaneLine:
    lost = " (the item in flight was not kept)" if lane.state == "generating" else ""
    return LaneLine("plain", f"stopped at {lane.items_done}/{tally.n_items} items{lost}")


def _status_line(tally: Tally, lane: SideTally) -> LaneLine:
    n_items = tally.n_items
    if lane.state == "generating":
        return LaneLine(
            "generating", f"item {lane.items_done + 1}/{n_items}  ", prompt=shorten(lane.current_prompt, 200)
        )
    if lane.state == "loading":
        fraction = "" if lane.load_fraction is None else f" {format_percent(lane.load_fraction, 0)}"
        return LaneLine("loading", f"loading: {lane.load_stage}{fraction}")
    if lane.state == "failed":
        return LaneLine("bold", f"failed after {lane.items_done} items; its finished items are kept")
    if lane.state == "done":
        return LaneLine("plain", f"done: {lane.items_done}/{n_items} items")
    if lane.items:
        last = lane.items[-1]
        mark = f"score {format_item_score(last.score)}" if tally.continuous else ("✓" if last.correct else "✗")
        other = "B" if lane.side == "A" else "A"
        return LaneLine(
            "answered",
            f"item {lane.items_done}/{n_items} {mark}  answer ",
            answer=shorten(last.answer or DASH, 40),
            expected=shorten(last.reference, 40),
            tail=f"  · waiting ({other} is measuring)" if tally.active_side == other else "",
        )
    if lane.state == "ready":
        return LaneLine("plain", "loaded; waiting for the first item")
    return LaneLine("plain", "waiting")


def _tiles(tally: Tally, lane: SideTally) -> tuple[TileView, ...]:
    est = is_estimated(tally)
    active = tally.active_side == lane.side
    now_rate = None
    if active and lane.current_started_mono_s is not None and lane.last_token_mono_s is not None:
        elapsed = lane.last_token_mono_s - lane.current_started_mono_s
        now_rate = lane.current_tokens / elapsed if elapsed > 0 else None
    score = lane.score
    if score is None or score.mean is None:
        score_value, score_note = DASH, ""
    else:
        # the tile is narrow: the interval to whole points (the verdict writes it to one decimal)
        score_value = format_score(score.mean, score.lo, score.hi, score.n, continuous=tally.continuous, compact=True)
        if tally.continuous:  # scores in [0, 1]: nothing is "correct", the note counts the items
            score_note = f"{score.n} items"
        else:
            score_note = f"{lane.figures.correct}/{score.n} correct"
    elsewhere = lane.energy_note is not None and lane.energy_j is None  # "not measured here", never 0
    counted = lane.tokens_counted_by
    grid = tally.grid
    tiles = {
        "power": TileView(
            "power",
            LABELS["power"],
            format_power(tally.power_now_w) if active else DASH,
            power_source_label(tally) if active else "idle",
            est,
        ),
        "energy": (
            TileView("energy", LABELS["energy"], "not measured", "here (see below)")
            if elsewhere
            else TileView("energy", LABELS["energy"], format_joules(lane.energy_j), format_wh(lane.energy_j), est)
        ),
        "jpt": TileView(
            "jpt",
            LABELS["jpt"],
            DASH if elsewhere else format_j_per_token(lane.joules_per_token),
            "" if counted in ("", "generated ids", "reported by the server") else f"tokens {counted}",
            est,
        ),
        "score": TileView("score", metric_name(tally), score_value, score_note),
        "jpc": TileView(
            "jpc",
            "J / correct-eq." if tally.continuous else LABELS["jpc"],
            format_joules(lane.joules_per_correct),
            "per unit of score" if tally.continuous else "",
            est,
        ),
        "co2": TileView(
            "co2",
            LABELS["co2"],
            format_grams(tally.co2_g(lane.side)),
            f"grid {format_intensity(grid.g_per_kwh, short=True)}" if grid else "",
            est,
        ),
        "speed": TileView(
            "speed",
            LABELS["speed"],
            format_tokens_per_s(lane.tokens_per_s),
            f"now {format_tokens_per_s(now_rate)}" if active else "",
        ),
        "ttft": TileView("ttft", LABELS["ttft"], format_seconds(lane.ttft_p50_s), "median"),
    }
    return tuple(tiles[key] for key, _ in TILES)


def stopping_text(tally: Tally) -> Text:
    """The two lines for ``tally`` (a session with a stopping rule)."""
    stopper = tally.stopper
    check = tally.stopping
    rule = "stops when settled" if stopper is not None and stopper.stop_when_settled else "watching only"
    if check is None:
        planned = stopper.monitor.planned if stopper is not None else 0
        return Text.assemble(
            ("○ not settled yet", "bold"),
            f" · no complete pair yet (at most {planned} items)\n  {rule}",
            end="",
        )
    accuracy = outcome_words("accuracy", check.accuracy_outcome, check.delta)
    energy = outcome_words("energy", check.energy_outcome, check.delta)
    text = Text(end="")
    if check.settled:
        after = stopper.settled_after if stopper is not None and stopper.settled_after else check.n_pairs
        text.append(f"● settled after {after} of {check.planned} items: {accuracy}", style="bold green")
    else:
        text.append(f"○ not settled yet ({check.n_pairs} of {check.planned} items)", style="bold")
    text.append(f" · accuracy {accuracy_interval(check.accuracy_lo, check.accuracy_hi)}")
    text.append(
        f"\n  energy {energy_interval(check.energy_lo, check.energy_hi)} ({energy}) · α {check.alpha:g} · margin "
        f"±{check.delta * 100:g} points · {rule}"
    )
    return text
