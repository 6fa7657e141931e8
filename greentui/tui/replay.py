"""A stored session folded into the same objects the live screen builds: a Tally, a PowerTrace and a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greentui.core.run.judge import session_verdict
from greentui.core.run.tally import Tally
from greentui.core.verdict.compute import Verdict
from greentui.tui.power_trace import PowerTrace


@dataclass
class FoldedSession:
    session_id: str
    tally: Tally
    trace: PowerTrace
    verdict: Verdict | None  # None when neither side finished an item
    status: str = ""  # the stored status (completed / interrupted / failed / running)
    status_reason: str = ""
    task_version: str | None = None  # sessions of one task pair their items only when the versions match


def fold_session(store: Any, session_id: str) -> FoldedSession:
    """Replay ``session_id`` from the store (reads the database: call it off the UI thread)."""
    stored = store.load_session(session_id)
    full_id = stored.session.id
    tally, trace = Tally(), PowerTrace()
    for event in store.replay(full_id):
        tally.apply(event)
        trace.apply(event)
    record = stored.session
    verdict = session_verdict(stored.verdict, tally)
    return FoldedSession(full_id, tally, trace, verdict, record.status, record.status_reason, record.task_version)
