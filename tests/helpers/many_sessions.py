"""A store with thousands of sessions, fast: a few sessions recorded through the real writer, then their
``sessions``, ``runs`` and ``verdicts`` rows copied in SQL under new ids and start times (items and samples are
not copied: listing never reads them).

Copies are named ``<base id>-<n:06d>`` and start ``n`` hours before their base session, so the newest sessions
are the recorded ones and the order by date is known.
"""

from __future__ import annotations

import dataclasses

from greentui.store import SessionStore
from tests.helpers.store_events import LiveSession

BASES = (
    LiveSession("base-sentiment", n_items=4, task_id="sentiment", started_unix_s=1_790_000_000.0),
    LiveSession("base-arith", n_items=4, task_id="arithmetic", fail_side="B", started_unix_s=1_790_000_100.0),
    LiveSession("base-sql", n_items=4, task_id="sql", finish=False, started_unix_s=1_790_000_200.0),
)
VERDICT_SENTENCE = "B matches A at 88% of A's energy"


def _columns(store: SessionStore, table: str) -> list[str]:
    return [row["name"] for row in store._query(f"PRAGMA table_info({table})")]


def fill_many(store: SessionStore, n_sessions: int) -> None:
    """Put ``n_sessions`` sessions (at least the 3 recorded ones) into an empty ``store``."""
    writer = store.writer()
    for live in BASES:
        for event in live.events():
            if event.kind not in ("token", "model_loading"):
                writer.handle(event)
    writer.close()
    assert writer.error is None
    from greentui.core.run.judge import verdict_from_tally
    from greentui.core.run.tally import Tally

    tally = Tally()
    for event in store.replay("base-sentiment"):
        tally.apply(event)
    verdict = dataclasses.replace(verdict_from_tally(tally), sentence=VERDICT_SENTENCE)  # a sentence tests can find
    store.save_verdict("base-sentiment", verdict.to_dict(), VERDICT_SENTENCE)
    copies = max(n_sessions - len(BASES), 0)
    per_base = -(-copies // len(BASES))
    session_cols = _columns(store, "sessions")
    run_cols = _columns(store, "runs")
    picked = ", ".join(
        "s.id || printf('-%06d', n.i)"
        if c == "id"
        else "s.started_unix_s - n.i * 3600.0"
        if c == "started_unix_s"
        else f"s.{c}"
        for c in session_cols
    )
    runs_picked = ", ".join("r.session_id || printf('-%06d', n.i)" if c == "session_id" else f"r.{c}" for c in run_cols)
    numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "

    def copy(db: object) -> None:
        execute = db.execute  # type: ignore[attr-defined]
        execute(
            numbers + f"INSERT INTO sessions ({', '.join(session_cols)}) SELECT {picked} FROM sessions AS s, n "
            "WHERE s.id LIKE 'base-%'",
            (per_base,),
        )
        execute(
            numbers + f"INSERT INTO runs ({', '.join(run_cols)}) SELECT {runs_picked} FROM runs AS r, n "
            "WHERE r.session_id LIKE 'base-%'",
            (per_base,),
        )
        execute(
            numbers + "INSERT INTO verdicts (session_id, created_unix_s, verdict_json, sentence) "
            "SELECT v.session_id || printf('-%06d', n.i), v.created_unix_s, v.verdict_json, v.sentence "
            "FROM verdicts AS v, n WHERE v.session_id LIKE 'base-%'",
            (per_base,),
        )
        surplus = len(BASES) + per_base * len(BASES) - n_sessions
        if surplus > 0:  # the rounding up made a few too many: drop the oldest
            execute(
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions ORDER BY started_unix_s LIMIT ?)",
                (surplus,),
            )

    if copies:
        store._write("copy sessions", copy)
