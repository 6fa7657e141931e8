"""The history's words for each status and item count."""

from __future__ import annotations

from dataclasses import replace

from greentui.store.rows import SessionSummary, SideSummary
from greentui.tui.session_state import short_state, state_message


def summary(
    status: str, a: int, b: int, *, n: int = 8, sentence: str | None = None, reason: str = ""
) -> SessionSummary:
    def side(name: str, done: int) -> SideSummary:
        return SideSummary(name, f"model-{name}", "finished", done, done, 1.0 if done else None, 1.0 * done, None)  # type: ignore[arg-type]

    return SessionSummary(
        id="s1",
        status=status,
        status_reason=reason,
        task_id="sentiment",
        task_name="Sentiment",
        task_version=None,
        n_items=n,
        schedule="alternate",
        model_a="model-A",
        model_b="model-B",
        power_quality="estimated",
        started_unix_s=0.0,
        ended_unix_s=None,
        a=side("A", a),
        b=side("B", b),
        verdict_sentence=sentence,
    )


def test_an_interrupted_session_with_items_on_both_sides_is_not_empty() -> None:
    message = state_message(summary("interrupted", 5, 6, reason="process gone"))
    assert message.startswith("Interrupted (process gone) after A 5/8 and B 6/8 items")
    assert "no verdict was saved" in message and "r resumes it" in message
    assert "no finished item" not in message
    assert short_state(summary("interrupted", 5, 6)) == "no verdict saved (enter computes one)"


def test_each_status_and_count_has_its_message() -> None:
    assert state_message(summary("completed", 8, 8, sentence="B matches A.")) == "B matches A."
    partial = state_message(summary("interrupted", 3, 3, sentence="Too close to call."))
    assert partial == "Interrupted after A 3/8 and B 3/8 items; on those: Too close to call."
    assert state_message(summary("failed", 0, 0, reason="out of memory")).startswith(
        "Failed (out of memory) before any item finished: no verdict; r resumes it"
    )
    assert "only model A finished items (4/8)" in state_message(summary("failed", 4, 0))
    assert state_message(summary("running", 2, 1)).startswith("Running now: A 2/8 and B 1/8 items so far")
    assert state_message(summary("completed", 0, 0)).startswith("Completed without a finished item")
    no_reason = state_message(replace(summary("failed", 4, 0), status_reason="oom"), with_reason=False)
    assert "oom" not in no_reason
