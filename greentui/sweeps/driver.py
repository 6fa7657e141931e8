"""The sweep driver: what the store already holds decides what each planned session needs, an executor runs the
ones left, and every finished session ends with a verdict over all of its items.

A planned session whose content key is in the store as ``completed`` is skipped; ``interrupted`` is resumed (same
session id, finished items kept); ``failed`` is kept as it is unless ``retry_failed`` (then resumed); ``running``
in a live process is left alone. The driver is the only writer of the user's store: executors that run sessions
elsewhere hand their results back to it (see ``greentui.sweeps.cluster``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from greentui.core.records import SIDES, Side
from greentui.core.run.judge import verdict_from_tally
from greentui.core.run.sweep import PlannedSession, Sweep
from greentui.core.run.tally import Tally
from greentui.store.db import SessionStore
from greentui.store.errors import StoreError
from greentui.store.sweeps import save_sweep, sessions_by_key

Action = Literal["run", "resume", "skip", "keep-failed", "busy"]
ACTION_WORDS: dict[Action, str] = {
    "run": "new",
    "resume": "resume",
    "skip": "done",
    "keep-failed": "failed (kept; --retry-failed runs it again)",
    "busy": "running in another process",
}


@dataclass(frozen=True)
class Step:
    """One planned session and what it needs now."""

    planned: PlannedSession
    action: Action
    session_id: str | None = None  # the stored session (resume, skip, keep-failed, busy)
    stored_status: str | None = None
    done: dict[Side, set[str]] = field(default_factory=dict)  # finished items per side (resume)

    @property
    def runs(self) -> bool:
        return self.action in ("run", "resume")


@dataclass(frozen=True)
class SessionResult:
    """How one planned session ended in this run of the sweep."""

    step: Step
    session_id: str | None  # None: it never started (bad configuration, lost before its first event)
    status: str  # completed | interrupted | failed | skipped | not started
    reason: str = ""
    seconds: float | None = None
    where: str = ""  # "this machine" or the Dask worker's address
    store_errors: tuple[str, ...] = ()


class Executor(Protocol):
    """Runs steps and reports each result as it comes (on the caller's thread)."""

    name: str

    def run(self, steps: Sequence[Step], on_result: Callable[[SessionResult], None]) -> None: ...

    def close(self) -> None: ...


def plan_steps(store: SessionStore, planned: Sequence[PlannedSession], *, retry_failed: bool = False) -> list[Step]:
    """Compare the plan with the store (see the module docstring)."""
    if not planned:
        return []
    stored = sessions_by_key(store, planned[0].config.sweep_id or "", [p.key for p in planned])
    steps = []
    for entry in planned:
        record = stored.get(entry.key)
        if record is None:
            steps.append(Step(entry, "run"))
            continue
        action: Action = {
            "completed": "skip",
            "interrupted": "resume",
            "failed": "resume" if retry_failed else "keep-failed",
            "running": "busy",
        }.get(record.status, "resume")
        done: dict[Side, set[str]] = {}
        if action == "resume":
            info = store.resume_info(record.id)
            done = {side: set(info.done.get(side, ())) for side in SIDES}
        steps.append(Step(entry, action, record.id, record.status, done))
    return steps


def plan_summary(planned: Sequence[PlannedSession]) -> list[dict[str, str]]:
    """What the ``sweeps`` row keeps of the plan: key, task, candidate, reference, in run order."""
    return [{"key": p.key, "task_id": p.task_id, "candidate": p.candidate, "reference": p.reference} for p in planned]


def refresh_verdict(store: SessionStore, session_id: str) -> None:
    """Compute the verdict again over every stored item of a session (a resumed session's run saw only the items
    it ran itself) and save it as the latest. Sessions with no finished item keep no verdict."""
    tally = Tally()
    for event in store.replay(session_id):
        tally.apply(event)
    if not any(lane.items for lane in tally.sides.values()):
        return
    verdict = verdict_from_tally(tally)
    store.save_verdict(session_id, verdict.to_dict(), verdict.sentence)


@dataclass
class SweepOutcome:
    steps: list[Step]
    results: list[SessionResult]
    executor: str
    seconds: float
    stopped: bool = False  # the user stopped the sweep (Ctrl-C) before every session ran

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def all_done(self) -> bool:
        return all(r.status in ("completed", "skipped") for r in self.results) and len(self.results) == len(self.steps)


def run_sweep(
    store: SessionStore,
    sweep: Sweep,
    planned: Sequence[PlannedSession],
    executor: Executor,
    *,
    retry_failed: bool = False,
    on_result: Callable[[SessionResult], None] | None = None,
) -> SweepOutcome:
    """Run what the plan still needs with ``executor``; results come to ``on_result`` one by one, in the order
    they end. Ctrl-C stops the sweep: the session running keeps its finished items (interrupted), the rest wait."""
    started = time.monotonic()
    save_sweep(store, sweep.to_dict(), plan_summary(planned))
    steps = plan_steps(store, planned, retry_failed=retry_failed)
    results: list[SessionResult] = []

    def report(result: SessionResult) -> None:
        if result.session_id and result.status != "skipped" and result.step.action == "resume":
            try:
                refresh_verdict(store, result.session_id)
            except StoreError as exc:
                result = dataclasses.replace(result, store_errors=(*result.store_errors, str(exc)))
        results.append(result)
        if on_result is not None:
            on_result(result)

    for step in steps:
        if not step.runs:
            status = {"skip": "skipped", "keep-failed": "failed", "busy": "running"}[step.action]
            report(SessionResult(step, step.session_id, status, ACTION_WORDS[step.action]))
    stopped = False
    try:
        executor.run([s for s in steps if s.runs], report)
    except KeyboardInterrupt:
        stopped = True
    stopped = stopped or getattr(executor, "stopped", False)
    return SweepOutcome(steps, results, executor.name, time.monotonic() - started, stopped)
