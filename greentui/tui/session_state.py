"""What a stored session's state means, in words: the history's message for each status and item count.

A listed session has a status (completed, interrupted, failed, running), a count of finished items per side and
perhaps a saved verdict. The message says what there is to see and what can be done, so an interrupted session
with items on both sides is never described as having none.
"""

from __future__ import annotations

from typing import Any

RESUMABLE = ("interrupted", "failed")


def progress_words(summary: Any) -> str:
    """``A 5/8 and B 6/8 items``."""
    n = summary.n_items
    return f"A {summary.a.items_done}/{n} and B {summary.b.items_done}/{n} items"


def state_message(summary: Any, *, with_reason: bool = True) -> str:
    """One or two sentences on the session's state: the verdict where there is one, qualified by how far it got.

    ``with_reason``: say why it stopped (leave it out where the status reason is shown beside it already).
    """
    a, b = summary.a.items_done, summary.b.items_done
    status = summary.status
    reason = f" ({summary.status_reason})" if summary.status_reason and with_reason else ""
    resume = "; r resumes it" if status in RESUMABLE else ""
    if status == "running":
        return f"Running now: {progress_words(summary)} so far; the verdict comes when it ends."
    if a == 0 and b == 0:
        if status == "completed":
            return "Completed without a finished item on either side: no verdict."
        return f"{status.capitalize()}{reason} before any item finished: no verdict{resume}."
    if a == 0 or b == 0:
        only, count = ("A", a) if b == 0 else ("B", b)
        return (
            f"{status.capitalize()}{reason}: only model {only} finished items ({count}/{summary.n_items}); "
            f"a verdict compares both sides{resume}."
        )
    complete = status == "completed" and a == summary.n_items and b == summary.n_items
    if summary.verdict_sentence:
        if complete:
            return str(summary.verdict_sentence)
        return f"{status.capitalize()}{reason} after {progress_words(summary)}; on those: {summary.verdict_sentence}"
    return (
        f"{status.capitalize()}{reason} after {progress_words(summary)}; no verdict was saved: enter computes one "
        f"from the finished items{resume}."
    )


def short_state(summary: Any) -> str:
    """The history table's verdict column: the saved verdict sentence, else what the state allows."""
    if summary.verdict_sentence:
        return str(summary.verdict_sentence)
    a, b = summary.a.items_done, summary.b.items_done
    if summary.status == "running":
        return "running…"
    if a == 0 and b == 0:
        return "no item finished"
    if a == 0 or b == 0:
        return f"only {'A' if b == 0 else 'B'} finished items"
    return "no verdict saved (enter computes one)"
