"""Every stored model run of a task as one point: its score and energy with what their intervals need.

The history's trade-off chart plots score against energy per item (or per correct answer) for every run (one
session, one side). Reading every item of thousands of sessions would be slow, so SQLite sums per run here: counts,
sums and sums of squares and products, from which the caller builds Wilson, normal or delta-method intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

from greentui.store.db import SessionStore


@dataclass(frozen=True)
class RunPoint:
    """One side of one session, summed over its finished items.

    ``n`` counts scored items; the ``e_`` sums run over the items that have an energy figure (``n_energy``), so
    energy per correct answer divides energy by the score of the same items.
    """

    session_id: str
    side: str
    spec: str
    task_id: str
    task_name: str
    task_version: str | None
    metric: str
    continuous: bool
    status: str
    sweep_id: str | None
    started_unix_s: float
    power_quality: str  # the session's: measured / estimated
    n: int
    score_sum: float
    score_sq_sum: float
    n_energy: int
    e_joules_sum: float
    e_joules_sq_sum: float
    e_score_sum: float
    e_score_sq_sum: float
    e_joules_score_sum: float
    estimated_items: int  # items whose own energy figure is an estimate

    @property
    def estimated(self) -> bool:
        return self.power_quality == "estimated" or self.estimated_items > 0


_SQL = """
SELECT s.id AS session_id, i.side AS side,
       CASE i.side WHEN 'A' THEN s.model_a ELSE s.model_b END AS spec,
       s.task_id, s.task_name, s.task_version, s.status, s.sweep_id, s.started_unix_s, s.power_quality,
       json_extract(s.settings_json, '$.task_info.metric') AS metric,
       json_extract(s.settings_json, '$.task_info.continuous') AS continuous,
       COUNT(*) AS n,
       TOTAL(i.score) AS score_sum,
       TOTAL(i.score * i.score) AS score_sq_sum,
       COUNT(i.joules) AS n_energy,
       TOTAL(i.joules) AS e_joules_sum,
       TOTAL(i.joules * i.joules) AS e_joules_sq_sum,
       TOTAL(CASE WHEN i.joules IS NOT NULL THEN i.score END) AS e_score_sum,
       TOTAL(CASE WHEN i.joules IS NOT NULL THEN i.score * i.score END) AS e_score_sq_sum,
       TOTAL(i.joules * i.score) AS e_joules_score_sum,
       TOTAL(i.energy_quality = 'estimated') AS estimated_items
FROM sessions AS s JOIN items AS i ON i.session_id = s.id
WHERE i.ended_mono_s IS NOT NULL AND i.score IS NOT NULL {where}
GROUP BY s.id, i.side
ORDER BY s.started_unix_s, s.id, i.side
"""


def run_points(store: SessionStore, *, task_id: str | None = None) -> list[RunPoint]:
    """Every run with at least one finished item (of ``task_id``, or of every task), oldest first."""
    where, params = ("AND s.task_id = ?", (task_id,)) if task_id is not None else ("", ())
    rows = store._query(  # the store's own read helper: its lock, busy timeout and errors as StoreError
        _SQL.format(where=where), params, doing="read the runs for the trade-off chart"
    )
    return [
        RunPoint(
            session_id=row["session_id"],
            side=row["side"],
            spec=row["spec"],
            task_id=row["task_id"],
            task_name=row["task_name"],
            task_version=row["task_version"],
            metric=str(row["metric"] or "accuracy"),
            continuous=bool(row["continuous"]),
            status=row["status"],
            sweep_id=row["sweep_id"],
            started_unix_s=row["started_unix_s"],
            power_quality=row["power_quality"],
            n=int(row["n"]),
            score_sum=float(row["score_sum"]),
            score_sq_sum=float(row["score_sq_sum"]),
            n_energy=int(row["n_energy"]),
            e_joules_sum=float(row["e_joules_sum"]),
            e_joules_sq_sum=float(row["e_joules_sq_sum"]),
            e_score_sum=float(row["e_score_sum"]),
            e_score_sq_sum=float(row["e_score_sq_sum"]),
            e_joules_score_sum=float(row["e_joules_score_sum"]),
            estimated_items=int(row["estimated_items"]),
        )
        for row in rows
    ]
