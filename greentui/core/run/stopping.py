"""Stopping when settled, as a session runs it: the item order, the item cap, and the pairs fed to the monitor.

The statistics live in :mod:`greentui.core.verdict.sequential`; this module is what the session (and the tally,
which recomputes the same figures for the live screen and for a replayed session) needs around them:

* the run's items: the task's items in a seeded shuffled order (:func:`schedule.run_order`), so the first n items
  are a sample drawn without replacement from the task, which the confidence sequences assume; capped by
  ``limit`` and ``max_items``;
* a :class:`PairStopper` that waits for both sides of an item, feeds the pair to the
  :class:`~greentui.core.verdict.sequential.StoppingMonitor` and says whether the session should stop.

Everything the rule depends on (alpha, the margin, the cap, the order seed, the task's item count) is in the
session's stored settings, so a replay or a resume finds the same order and the same intervals.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from greentui.core.records import SIDES, ItemScored, Side, StoppingChecked
from greentui.core.run.schedule import run_order
from greentui.core.verdict.sequential import StoppingError, StoppingMonitor, check_parameters
from greentui.core.verdict.stopping import outcome_words

if TYPE_CHECKING:
    from greentui.core.run.session import SessionConfig

_T = TypeVar("_T")

SETTINGS_KEY = "stopping"  # the block the session adds to its stored settings: population and planned items


def check_config(config: SessionConfig) -> None:
    """Raise :class:`StoppingError` (one line) for stopping options that cannot work."""
    check_parameters(config.alpha, config.delta)
    if config.max_items is not None and config.max_items < 1:
        raise StoppingError(f"--max-items must be at least 1, not {config.max_items}")
    if config.stop_when_settled and config.schedule == "sequential":
        raise StoppingError(
            "--stop-when-settled compares the two models item by item as both finish one: it needs schedule "
            "alternate (or parallel), not sequential, where model B starts only after all of A's items"
        )


def with_order_seed(config: SessionConfig) -> SessionConfig:
    """``config`` with an order seed drawn for a session that stops when settled and names none.

    The seed is drawn fresh (each session a new random sample of the task, chosen before any item runs) and
    stored with the session, so a resume or a replay runs the same order.
    """
    if config.stop_when_settled and config.order_seed is None:
        return dataclasses.replace(config, order_seed=secrets.randbelow(2**31))
    return config


def run_items(items: Sequence[_T], config: SessionConfig) -> list[_T]:
    """The items this session runs, in run order: the task's items shuffled by ``order_seed`` (file order when it
    is None), then the first ``limit`` and ``max_items`` of them (the smaller cap wins)."""
    ordered = [items[i] for i in run_order(len(items), config.order_seed)]
    caps = [cap for cap in (config.limit, config.max_items) if cap is not None]
    return ordered[: min(caps)] if caps else ordered


class PairStopper:
    """Folds finished items into complete A/B pairs and the pairs into the stopping monitor.

    One per session, fed every :class:`ItemScored` in the order they arrive (the session's and the tally's order
    are the same, so both see the same intervals). A pair is complete when both sides have scored the same item;
    a second result for an item already paired (a retried item) is ignored.
    """

    def __init__(self, population: int, planned: int, *, alpha: float, delta: float, stop_when_settled: bool) -> None:
        self.monitor = StoppingMonitor(population, alpha=alpha, delta=delta, planned=planned)
        self.stop_when_settled = stop_when_settled
        self._waiting: dict[Side, dict[str, ItemScored]] = {side: {} for side in SIDES}
        self._paired: set[str] = set()
        self.latest: StoppingChecked | None = None
        self.settled_after: int | None = None  # pairs when the accuracy comparison first settled

    @classmethod
    def for_config(cls, config: SessionConfig, population: int, planned: int) -> PairStopper | None:
        """The stopper of a session: None when its items run in file order (no random sample, no valid sequence)."""
        if config.order_seed is None or population < 1:
            return None
        return cls(
            population,
            planned,
            alpha=config.alpha,
            delta=config.delta,
            stop_when_settled=config.stop_when_settled,
        )

    @classmethod
    def from_started(cls, config: SessionConfig, settings: Mapping[str, Any], planned: int) -> PairStopper | None:
        """The same stopper rebuilt from a session's config and the block it stored in its extra facts (the
        tally's copy, live and in a replay)."""
        block = settings.get(SETTINGS_KEY)
        if not isinstance(block, Mapping) or config.order_seed is None:
            return None
        try:
            return cls(
                int(block["population"]),
                int(block.get("planned", planned)),
                alpha=config.alpha,
                delta=config.delta,
                stop_when_settled=config.stop_when_settled,
            )
        except (KeyError, TypeError, ValueError):  # settings from an older or hand-edited session
            return None

    def settings(self) -> dict[str, int]:
        """What the session stores beside its config so the tally can rebuild this stopper."""
        return {"population": self.monitor.population, "planned": self.monitor.planned}

    def observe(self, item: ItemScored) -> StoppingChecked | None:
        """Take one finished item; when it completes a pair, the check after that pair (also kept as ``latest``)."""
        if item.item_id in self._paired:
            return None
        other: Side = "B" if item.side == "A" else "A"
        partner = self._waiting[other].pop(item.item_id, None)
        if partner is None:
            self._waiting[item.side][item.item_id] = item
            return None
        self._paired.add(item.item_id)
        a, b = (item, partner) if item.side == "A" else (partner, item)
        state = self.monitor.add_pair(a.score, b.score, a.joules, b.joules)
        if state.settled and self.settled_after is None:
            self.settled_after = state.n
        energy = state.energy
        self.latest = StoppingChecked(
            item_id=item.item_id,
            n_pairs=state.n,
            population=state.population,
            planned=state.planned,
            alpha=self.monitor.alpha,
            delta=self.monitor.delta,
            accuracy_estimate=state.accuracy.estimate,
            accuracy_lo=state.accuracy.lo,
            accuracy_hi=state.accuracy.hi,
            accuracy_outcome=state.accuracy.outcome,
            energy_pairs=energy.n if energy else 0,
            energy_estimate=energy.estimate if energy else None,
            energy_lo=energy.lo if energy else None,
            energy_hi=energy.hi if energy else None,
            energy_outcome=energy.outcome if energy else "not settled",
            settled=state.settled,
            stops=self.stop_when_settled and state.settled,
            t_mono_s=time.monotonic(),
        )
        return self.latest

    @property
    def should_stop(self) -> bool:
        return self.latest is not None and self.latest.stops

    def reason(self) -> str:
        """Why the session stopped, in one line (the session's status reason)."""
        check = self.latest
        if check is None:
            return ""
        words = outcome_words("accuracy", check.accuracy_outcome, check.delta)
        return f"settled: {words} after {check.n_pairs} of {check.planned} items"
