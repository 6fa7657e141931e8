"""``--json`` output of ``sessions``, ``show``, ``tasks`` and ``models``: data for scripts, keys documented in
docs/JSON_OUTPUT.md and kept stable (a change that removes or renames a key raises ``format_version``).

Every document is one JSON object with ``format`` (``greentui.sessions``, ``greentui.show``, ``greentui.tasks``,
``greentui.models``) and ``format_version``. Text that came from a model, a task file or a server (specs,
verdict sentences, failure reasons, notes) is untrusted: the output is ASCII-only, so every control, bidi and
other non-ASCII character is a ``\\uXXXX`` escape -- no byte a terminal would act on reaches it raw, as with
greentui.untrusted's visible escapes, yet a JSON reader gets the exact text back. Non-finite numbers (which JSON
cannot hold) are written as ``null``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greentui.format import format_iso_utc, format_when

if TYPE_CHECKING:  # the listing starts without the engine (and numpy): see test_import_hygiene
    from greentui.core.verdict.compute import Verdict
    from greentui.store import SessionSummary, StoredSession

FORMAT_VERSION = 1


def dumps(document: Mapping[str, Any]) -> str:
    """The document as ASCII-only, indented JSON text with a final newline."""
    return json.dumps(_finite(document), ensure_ascii=True, indent=2, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _document(kind: str, **body: Any) -> dict[str, Any]:
    return {"format": f"greentui.{kind}", "format_version": FORMAT_VERSION, **body}


def session_summary(summary: SessionSummary) -> dict[str, Any]:
    """One listed session (a :class:`greentui.store.SessionSummary`)."""
    sides = {}
    for side in (summary.a, summary.b):
        sides[side.side] = {
            "spec": side.spec,
            "status": side.status,
            "items_done": side.items_done,
            "correct": side.correct,
            "accuracy": side.accuracy,
            "energy_j": side.energy_j,
            "failure": side.failure,
        }
    return {
        "id": summary.id,
        "status": summary.status,
        "status_reason": summary.status_reason,
        "task_id": summary.task_id,
        "task_name": summary.task_name,
        "task_version": summary.task_version,
        "n_items": summary.n_items,
        "schedule": summary.schedule,
        "model_a": summary.model_a,
        "model_b": summary.model_b,
        "power_quality": summary.power_quality,
        "started_unix_s": summary.started_unix_s,
        "started_utc": format_iso_utc(summary.started_unix_s),
        "ended_unix_s": summary.ended_unix_s,
        "sweep_id": summary.sweep_id,
        "verdict_sentence": summary.verdict_sentence,
        "sides": sides,
    }


def sessions_json(rows: Sequence[SessionSummary], *, matching: int, db_path: Path, limit: int | None) -> str:
    """``greentui sessions --json``: the listed sessions, newest first, and how many matched in all."""
    return dumps(
        _document(
            "sessions",
            database=str(db_path),
            matching=matching,
            limit=limit,
            sessions=[session_summary(row) for row in rows],
        )
    )


def shown(stored: StoredSession, verdict: Verdict | None, verdict_source: str | None) -> dict[str, Any]:
    """The session's figures as greentui shows them to a person -- ``greentui show``, the TUI's verdict screen, the
    markdown and HTML reports -- written by greentui.format, so a script prints (or checks) the same rounded values.
    ``verdict``: the :class:`~greentui.core.verdict.compute.Verdict` those views show, or None."""
    from greentui.core.verdict.compute import model_label
    from greentui.text.report import comparison_rows

    session = stored.session
    document: dict[str, Any] = {
        "started": format_when(session.started_unix_s),
        "verdict_source": verdict_source,
        "sentence": None,
        "models": None,
        "figures": [],
    }
    if verdict is not None:
        document["sentence"] = verdict.sentence
        document["models"] = {"A": model_label(verdict.a, verdict.b), "B": model_label(verdict.b, verdict.a)}
        document["figures"] = [{"figure": f, "A": a, "B": b} for f, a, b in comparison_rows(verdict)]
    return document


def show_json(
    stored: StoredSession,
    verdict: Mapping[str, Any] | None,
    verdict_source: str | None,
    shown_figures: Mapping[str, Any] | None = None,
) -> str:
    """``greentui show --json``: the session row, both runs (with their totals), the verdict, and the figures as
    shown to people (:func:`shown`).

    ``verdict_source``: "stored" (saved when the session ended), "items" (computed now from the finished items of
    a session that ended without one) or None (no finished item: no verdict)."""
    return dumps(
        _document(
            "show",
            session=dataclasses.asdict(stored.session),
            runs={side: dataclasses.asdict(run) for side, run in sorted(stored.runs.items())},
            verdict=dict(verdict) if verdict is not None else None,
            verdict_sentence=(verdict or {}).get("sentence", stored.verdict_sentence),
            verdict_source=verdict_source,
            verdict_saved_unix_s=stored.verdict_created_unix_s,
            shown=dict(shown_figures) if shown_figures is not None else None,
        )
    )


def tasks_json() -> str:
    """``greentui tasks --json``: the built-in tasks, then those whose data package is not installed."""
    from greentui.core.evaluate.tasks import builtin_tasks, unavailable_builtin_tasks

    tasks: list[dict[str, Any]] = [
        {
            "id": task.id,
            "name": task.name,
            "description": task.description,
            "category": task.category,
            "items": len(task.items),
            "metric": task.metric,
            "scorer": task.scorer,
            "continuous": task.continuous,
            "baseline": task.baseline,
            "max_new_tokens": task.max_new_tokens,
            "licence": task.licence,
            "provenance": task.provenance,
            "version": task.version,
            "available": True,
            "unavailable_reason": None,
        }
        for task in builtin_tasks()
    ]
    tasks += [
        {"id": task_id, "available": False, "unavailable_reason": reason}
        for task_id, reason in unavailable_builtin_tasks().items()
    ]
    return dumps(_document("tasks", tasks=tasks))


def models_json() -> str:
    """``greentui models --json``: the catalog with what is available here, and the served-model forms."""
    from greentui.core.models.resolve import catalog_rows
    from greentui.core.models.served_probe import served_rows

    catalog = [
        {"spec": r.spec, "model": r.model, "params": r.params, "size": r.size, "status": r.status, "note": r.note}
        for r in catalog_rows()
    ]
    served = [{"spec": r.spec, "model": r.model, "status": r.status, "note": r.note} for r in served_rows()]
    return dumps(_document("models", catalog=catalog, served=served))
