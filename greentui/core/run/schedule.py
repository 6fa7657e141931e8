"""The order in which the two models run the task's items (DESIGN section 3, attribution).

NVML and RAPL measure whole devices, so two models generating at once on one device cannot be told apart:
by default one model runs at a time, each item in its own energy window.
"""

from __future__ import annotations

import random

from greentui.core.records import SIDES, Schedule, Side

SCHEDULES: tuple[Schedule, ...] = ("alternate", "sequential", "parallel")


class ScheduleError(ValueError):
    """An unknown schedule name."""


def schedule_order(n_items: int, schedule: Schedule) -> list[list[tuple[Side, int]]]:
    """The order items run in, as a list of *steps*; each step's (side, index) pairs run together.

    ``alternate``: A1 B1, B2 A2, A3 B3, ... one at a time (ABBA cancels drift such as a warming GPU).
    ``sequential``: all of A, then all of B. ``parallel``: A_i and B_i at once (different devices only).
    """
    if schedule == "alternate":
        steps: list[list[tuple[Side, int]]] = []
        for i in range(n_items):
            first, second = SIDES if i % 2 == 0 else SIDES[::-1]
            steps += [[(first, i)], [(second, i)]]
        return steps
    if schedule == "sequential":
        a_steps: list[list[tuple[Side, int]]] = [[("A", i)] for i in range(n_items)]
        return a_steps + [[("B", i)] for i in range(n_items)]
    if schedule == "parallel":
        return [[("A", i), ("B", i)] for i in range(n_items)]
    raise ScheduleError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")


def run_order(n_items: int, seed: int | None) -> list[int]:
    """The order the task's items run in: a seeded shuffle (task files are often sorted by difficulty or source, so
    the first items of the file are no sample of the whole), or the file's own order when ``seed`` is None.

    A Fisher-Yates shuffle driven by ``random.Random(seed).random()``, whose sequence Python keeps the same across
    versions (``random.shuffle``'s use of it may change), so a stored seed gives the same order on resume and
    replay. With a shuffled order, the first n items of a run are a sample drawn without replacement from the
    task: what the anytime-valid stopping rule (core/verdict/sequential.py) assumes."""
    order = list(range(n_items))
    if seed is None:
        return order
    rng = random.Random(seed)
    for i in range(n_items - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        order[i], order[j] = order[j], order[i]
    return order
