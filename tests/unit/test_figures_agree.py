"""The live tally, the verdict and the store's summaries agree on every figure they share (one definition each).

Some items carry no energy figure (a served model on another host, a window no sample covered): that is where the
live view and the verdict once divided by different denominators, so the session here drops the energy of every
third item on side A and of one item on side B.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from greentui.core.figures import SideFigures
from greentui.core.records import ItemScored
from greentui.core.run import session as session_module
from greentui.core.run.session import SessionConfig
from greentui.services import SessionRun, open_store

MODEL_A = "fake:a?tps=400&accuracy=0.6&tokens=7&seed=3"
MODEL_B = "fake:b?tps=400&accuracy=0.4&tokens=11&seed=5"


@pytest.fixture()
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "const.csv"
    path.write_text("t_s,power_w\n0,20\n1,20\n")
    return path


@pytest.mark.parametrize("task", ["arithmetic", "dialogue-summary"])  # a binary and a continuous metric
def test_live_tally_verdict_and_store_agree_when_some_items_have_no_energy(
    task: str, trace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = session_module.Session._scored

    def without_some_energy(self, side, item, idx, generated, measurement) -> ItemScored:  # type: ignore[no-untyped-def]
        scored = original(self, side, item, idx, generated, measurement)
        if (side == "A" and idx % 3 == 0) or (side == "B" and idx == 4):
            scored = dataclasses.replace(scored, joules=None)
        return scored

    monkeypatch.setattr(session_module.Session, "_scored", without_some_energy)
    config = SessionConfig(
        model_a=MODEL_A,
        model_b=MODEL_B,
        task=task,
        limit=9,
        idle_s=0.0,
        power_source=f"replay:{trace}",
        sample_hz=20.0,
    )
    store = open_store(tmp_path / "agree.db")
    run = SessionRun(config, store, inline_workers=True)
    outcome = run.run()
    assert outcome.status == "completed" and outcome.verdict is not None
    verdict = outcome.verdict
    stored = store.load_session(run.session_id).items_summary()
    continuous = task == "dialogue-summary"

    for side, summary in (("A", verdict.a), ("B", verdict.b)):
        lane = run.tally.sides[side]
        items = lane.items
        assert any(i.joules is None for i in items) and any(i.joules is not None for i in items)
        # the live tally against the verdict
        assert lane.items_done == summary.n_items == 9
        assert lane.score is not None and lane.score.mean == pytest.approx(summary.accuracy)
        assert lane.energy_j == pytest.approx(summary.energy_j)
        assert lane.joules_per_token == pytest.approx(summary.joules_per_token)
        assert lane.correct_equivalent == pytest.approx(summary.correct)
        if summary.joules_per_correct is None:
            assert lane.joules_per_correct is None
        else:
            assert lane.joules_per_correct == pytest.approx(summary.joules_per_correct)
        assert lane.tokens_out == summary.tokens_out
        if not continuous:  # the same Wilson interval live and in the verdict (continuous: bootstrap at the end)
            assert (lane.score.lo, lane.score.hi) == pytest.approx((summary.accuracy_lo, summary.accuracy_hi))
        # the figures against a plain recount, so a shared mistake cannot hide
        with_energy = [i for i in items if i.joules is not None]
        expected_jpt = sum(i.joules for i in with_energy) / sum(i.tokens_out for i in with_energy)  # type: ignore[misc]
        assert summary.joules_per_token == pytest.approx(expected_jpt)
        # the store's per-run summary
        row = stored[side]
        assert row["items_done"] == 9
        assert row["energy_j"] == pytest.approx(summary.energy_j)
        assert row["tokens_out"] == summary.tokens_out
        figures = SideFigures.of(items, continuous)
        assert row["correct"] == figures.correct
        assert row["score_sum"] == pytest.approx(figures.score_sum)
    store.close()
