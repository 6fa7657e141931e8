"""Sweeps in the store: the ``sweeps`` table (a sweep's definition and latest plan) and the sessions that carry a
``sweep_id``. The sweep driver (``greentui.sweeps``) reads and writes through these functions; sessions
themselves are written by the ordinary writer, which takes ``sweep_id`` / ``sweep_key`` from their settings.

Merging a session run elsewhere (a cluster worker's own database) into this store goes through
:func:`merge_session`, which replays the exported session through the single writer: rows already here (the
session row, earlier items of a resumed session) are updated, nothing is duplicated.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from greentui.store.db import SessionStore
from greentui.store.errors import StoreError
from greentui.store.from_rows import session_from_row
from greentui.store.rows import SessionRecord


@dataclass(frozen=True)
class SweepRecord:
    """One ``sweeps`` row, with counts of its planned sessions by status (sessions of earlier plans not counted)."""

    name: str
    definition: dict[str, Any]
    plan: tuple[dict[str, Any], ...]
    created_unix_s: float
    updated_unix_s: float
    counts: Mapping[str, int]  # completed / interrupted / failed / running / pending (not started)

    @property
    def planned(self) -> int:
        return len(self.plan)


def save_sweep(store: SessionStore, definition: Mapping[str, Any], plan: Sequence[Mapping[str, Any]]) -> None:
    """Create or update a sweep (its definition and plan replace the earlier ones; its first date stays)."""
    name = str(definition["name"])
    now = time.time()
    payload = (name, json.dumps(dict(definition), default=str), json.dumps([dict(p) for p in plan]), now, now)
    store._write(  # the store's own transaction helper: one writer, the busy timeout, errors as StoreError
        "save the sweep",
        lambda db: db.execute(
            "INSERT INTO sweeps (name, definition_json, plan_json, created_unix_s, updated_unix_s) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET definition_json = excluded.definition_json, "
            "plan_json = excluded.plan_json, updated_unix_s = excluded.updated_unix_s",
            payload,
        ),
    )


def sessions_by_key(store: SessionStore, sweep: str, keys: Iterable[str] | None = None) -> dict[str, SessionRecord]:
    """The sessions of ``sweep`` by content key (the latest started when one key has several)."""
    rows = store._query(
        "SELECT * FROM sessions WHERE sweep_id = ? AND sweep_key IS NOT NULL ORDER BY started_unix_s, id", (sweep,)
    )
    wanted = set(keys) if keys is not None else None
    found: dict[str, SessionRecord] = {}
    for row in rows:
        if wanted is None or row["sweep_key"] in wanted:
            found[row["sweep_key"]] = session_from_row(row)
    return found


def _record(store: SessionStore, row: Mapping[str, Any]) -> SweepRecord:
    plan = tuple(json.loads(row["plan_json"] or "[]"))
    sessions = sessions_by_key(store, row["name"], [p["key"] for p in plan])
    counts: dict[str, int] = {"completed": 0, "interrupted": 0, "failed": 0, "running": 0, "pending": 0}
    for entry in plan:
        record = sessions.get(entry["key"])
        counts[record.status if record else "pending"] += 1
    return SweepRecord(
        name=row["name"],
        definition=json.loads(row["definition_json"]),
        plan=plan,
        created_unix_s=row["created_unix_s"],
        updated_unix_s=row["updated_unix_s"],
        counts=counts,
    )


def list_sweeps(store: SessionStore) -> list[SweepRecord]:
    """Every sweep, most recently run first."""
    rows = store._query("SELECT * FROM sweeps ORDER BY updated_unix_s DESC, name", doing="read the sweeps")
    return [_record(store, row) for row in rows]


def get_sweep(store: SessionStore, name: str) -> SweepRecord:
    """The sweep called ``name`` (raises StoreError naming the known sweeps when there is none)."""
    rows = store._query("SELECT * FROM sweeps WHERE name = ?", (name,), doing="read the sweep")
    if not rows:
        known = [r["name"] for r in store._query("SELECT name FROM sweeps ORDER BY name", doing="read the sweeps")]
        hint = f" (known: {', '.join(known)})" if known else " (none yet: run one with greentui sweep FILE)"
        raise StoreError(f"no sweep {name!r} in {store.path}{hint}")
    return _record(store, rows[0])


def sweep_names(store: SessionStore) -> list[str]:
    """Names of the sweeps that have sessions here, for filters (the history screen)."""
    rows = store._query(
        "SELECT DISTINCT sweep_id FROM sessions WHERE sweep_id IS NOT NULL ORDER BY sweep_id", doing="read the sweeps"
    )
    return [str(r["sweep_id"]) for r in rows]


def merge_session(store: SessionStore, exported: Mapping[str, Any]) -> str:
    """Write a session exported elsewhere (``export.session_to_json``) into ``store``; returns its id.

    Unlike :func:`export.import_json`, a session already here is updated: a session resumed on a cluster worker
    comes back with its new items, and the ones this store already holds stay.
    """
    from greentui.store.export import import_json

    return import_json(store, dict(exported), replace=True)


@dataclass(frozen=True)
class BoardRow:
    """One candidate on one task of a sweep's leaderboard, read from its session and latest verdict.

    Differences are candidate (B) minus reference (A) in percentage points; the energy ratio is E_B / E_A over
    the items both answered, with the verdict's 95% intervals. None: not available (no verdict yet, no energy).
    """

    task_id: str
    candidate: str
    reference: str
    key: str
    session_id: str | None
    status: str  # the session's status, or "pending" when it has not run
    items_done: tuple[int, int]  # reference, candidate
    n_items: int | None
    diff_points: float | None
    diff_lo_points: float | None
    diff_hi_points: float | None
    energy_ratio: float | None
    energy_ratio_lo: float | None
    energy_ratio_hi: float | None
    j_per_correct: tuple[float | None, float | None]  # reference, candidate
    cegi: tuple[float | None, float | None]  # reference, candidate (None: undefined, see cegi_status)
    cegi_status: tuple[str, str]
    outcome: str | None  # the verdict's comparison outcome: matches, more_accurate, dominates, too_close, ...
    more_accurate: str | None  # "A" (the reference) or "B" (the candidate) when the accuracy interval excludes 0
    sentence: str | None
    energy_quality: str | None  # measured | estimated
    settled: str | None  # the stopping rule's outcome where the session stopped when settled
    fingerprint_key: str | None
    host: str | None


def _settled(settings: Mapping[str, Any], verdict: Mapping[str, Any]) -> str | None:
    """The anytime-valid stopping outcome in words, for a session that ran with stop_when_settled: the verdict's
    ``stopping`` block (core/verdict/model.py ``StoppingSummary.summary``), e.g. "settled after 34 of 60 items:
    B more accurate"."""
    if not settings.get("stop_when_settled"):
        return None
    block = verdict.get("stopping")
    if isinstance(block, Mapping) and block.get("summary"):
        return str(block["summary"])
    return "not settled yet"


def _joules_per_correct(verdict: Mapping[str, Any], side: str) -> float | None:
    """One side's J per correct answer from a stored verdict (None: no verdict, or no correct answer)."""
    value = (verdict.get(side) or {}).get("joules_per_correct")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def sweep_board(store: SessionStore, name: str) -> tuple[SweepRecord, list[BoardRow]]:
    """The sweep and one row per planned session, in plan order (the text layer sorts and groups them)."""
    record = get_sweep(store, name)
    sessions = sessions_by_key(store, name, [p["key"] for p in record.plan])
    rows = []
    for entry in record.plan:
        session = sessions.get(entry["key"])
        verdict: dict[str, Any] = {}
        sentence = None
        done = (0, 0)
        if session is not None:
            found = store._query(
                "SELECT verdict_json, sentence FROM verdicts WHERE session_id = ? ORDER BY id DESC LIMIT 1",
                (session.id,),
            )
            if found:
                verdict, sentence = json.loads(found[0]["verdict_json"]), found[0]["sentence"]
            runs = store.runs(session.id)
            done = (runs["A"].items_done if "A" in runs else 0, runs["B"].items_done if "B" in runs else 0)
        comparison = verdict.get("comparison") or {}
        sides = {s.get("side"): s for s in (verdict.get("cegi") or {}).get("sides", [])}
        rows.append(
            BoardRow(
                task_id=entry["task_id"],
                candidate=entry["candidate"],
                reference=entry["reference"],
                key=entry["key"],
                session_id=session.id if session else None,
                status=session.status if session else "pending",
                items_done=done,
                n_items=session.n_items if session else None,
                diff_points=comparison.get("diff_points"),
                diff_lo_points=comparison.get("diff_lo_points"),
                diff_hi_points=comparison.get("diff_hi_points"),
                energy_ratio=comparison.get("energy_ratio"),
                energy_ratio_lo=comparison.get("energy_ratio_lo"),
                energy_ratio_hi=comparison.get("energy_ratio_hi"),
                j_per_correct=(_joules_per_correct(verdict, "a"), _joules_per_correct(verdict, "b")),
                cegi=(sides.get("A", {}).get("value"), sides.get("B", {}).get("value")),
                cegi_status=(sides.get("A", {}).get("status", "—"), sides.get("B", {}).get("status", "—")),
                outcome=comparison.get("outcome"),
                more_accurate=comparison.get("more_accurate"),
                sentence=sentence,
                energy_quality=verdict.get("energy_quality"),
                settled=_settled(session.settings, verdict) if session else None,
                fingerprint_key=session.fingerprint_key if session else None,
                host=(session.fingerprint.get("host") if session else None),
            )
        )
    return record, rows
