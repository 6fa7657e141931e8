"""The session list as SQL: filters, the history's search box, sorting and paging, all done by SQLite.

The history screen and ``greentui sessions`` must stay quick with ten thousand stored sessions, so nothing here
reads more rows than it returns: a filter becomes a ``WHERE``, a sort an ``ORDER BY`` (newest first by default,
on the ``sessions_started`` index), a page ``LIMIT``/``OFFSET``, and :func:`count_sql` counts the matches
without building them. Each side's figures come from the per-side summary columns of ``runs`` (kept current by
the writer), the verdict sentence from the latest ``verdicts`` row.
"""

from __future__ import annotations

from dataclasses import dataclass

from greentui.store.errors import StoreError

STATUSES = ("running", "completed", "interrupted", "failed")
SWEEP_PREFIX = "sweep:"

# The history table's sort keys and the SQL that sorts by each. Ties go newest first, then by id, so a page
# boundary never splits equal rows differently from one query to the next.
SORT_SQL = {
    "date": "s.started_unix_s",
    "task": "s.task_id",
    "model_a": "s.model_a",
    "model_b": "s.model_b",
    "items": "(coalesce(a.items_done, 0) + coalesce(b.items_done, 0))",
    "status": "s.status",
    "energy": "(coalesce(a.energy_j, 0) + coalesce(b.energy_j, 0))",
    "verdict": "coalesce(v.sentence, '')",
}

_SIDE_COLUMNS = ", ".join(
    f"{x}.{c} AS {x}_{c}"
    for x in ("a", "b")
    for c in ("status", "items_done", "correct", "score_sum", "energy_j", "failure", "provenance")
)
_VERDICT = "LEFT JOIN verdicts AS v ON v.id = (SELECT max(id) FROM verdicts WHERE session_id = s.id) "  # the latest
_FROM = (
    "FROM sessions AS s "
    "LEFT JOIN runs AS a ON a.session_id = s.id AND a.side = 'A' "
    "LEFT JOIN runs AS b ON b.session_id = s.id AND b.side = 'B' " + _VERDICT
)
# What the search box looks in: the same fields the table and its preview show.
_HAYSTACK = " || ' ' || ".join(
    f"coalesce({c}, '')"
    for c in ("s.id", "s.task_id", "s.task_name", "s.model_a", "s.model_b", "s.status", "s.sweep_id", "v.sentence")
)


@dataclass(frozen=True)
class SessionFilter:
    """Which sessions to list. Every field is optional; together they must all hold.

    ``task`` matches the task id or name exactly; ``model`` is a case-insensitive substring of either model spec;
    ``since_unix_s``/``until_unix_s`` bound the start time; ``sweep`` keeps that sweep's sessions; ``search`` is
    the history's search box: its ``sweep:NAME`` words keep those sweeps' sessions (by exact name), the rest is
    one case-insensitive substring of id, task, models, status, sweep and verdict sentence (ASCII letters fold
    case, as SQLite's ``lower`` does).
    """

    task: str | None = None
    model: str | None = None
    status: str | None = None
    since_unix_s: float | None = None
    until_unix_s: float | None = None
    sweep: str | None = None
    search: str = ""

    def where(self) -> tuple[str, list[object]]:
        """The ``WHERE`` clause (empty when nothing filters) and its parameters."""
        clauses: list[str] = []
        params: list[object] = []
        if self.task is not None:
            clauses.append("(s.task_id = ? OR s.task_name = ?)")
            params += [self.task, self.task]
        if self.model is not None:
            clauses.append("(s.model_a LIKE ? ESCAPE '\\' OR s.model_b LIKE ? ESCAPE '\\')")
            params += [_like_pattern(self.model)] * 2
        if self.status is not None:
            if self.status not in STATUSES:
                raise StoreError(f"unknown session status {self.status!r} (expected one of {', '.join(STATUSES)})")
            clauses.append("s.status = ?")
            params.append(self.status)
        if self.sweep is not None:
            clauses.append("s.sweep_id = ?")
            params.append(self.sweep)
        if self.since_unix_s is not None:
            clauses.append("s.started_unix_s >= ?")
            params.append(self.since_unix_s)
        if self.until_unix_s is not None:
            clauses.append("s.started_unix_s < ?")
            params.append(self.until_unix_s)
        sweeps, needle = parse_search(self.search)
        if sweeps:
            clauses.append(f"s.sweep_id IN ({', '.join('?' * len(sweeps))})")
            params += sweeps
        if needle:
            clauses.append(f"instr(lower({_HAYSTACK}), lower(?)) > 0")
            params.append(needle)
        return ("WHERE " + " AND ".join(clauses) + " ") if clauses else "", params


def parse_search(text: str) -> tuple[list[str], str]:
    """(the sweep names of ``sweep:NAME`` words, the other words joined by single spaces)."""
    words = text.split()
    sweeps = [w[len(SWEEP_PREFIX) :] for w in words if w.lower().startswith(SWEEP_PREFIX)]
    return sweeps, " ".join(w for w in words if not w.lower().startswith(SWEEP_PREFIX))


def _like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_sql(
    where: SessionFilter, *, order_by: str = "date", descending: bool = True, limit: int | None, offset: int = 0
) -> tuple[str, list[object]]:
    """The query for one page of :class:`~greentui.store.rows.SessionSummary` rows, and its parameters."""
    if order_by not in SORT_SQL:
        raise StoreError(f"cannot sort sessions by {order_by!r} (one of {', '.join(SORT_SQL)})")
    if (limit is not None and limit < 0) or offset < 0:
        raise StoreError("a page of sessions needs a limit and an offset of 0 or more")
    clause, params = where.where()
    direction = "DESC" if descending else "ASC"
    tie = "" if order_by == "date" else ", s.started_unix_s DESC"
    sql = (
        "SELECT s.id, s.status, s.status_reason, s.task_id, s.task_name, s.task_version, s.n_items, s.schedule, "
        f"s.model_a, s.model_b, s.power_quality, s.started_unix_s, s.ended_unix_s, s.sweep_id, {_SIDE_COLUMNS}, "
        "v.sentence AS sentence " + _FROM + clause + f"ORDER BY {SORT_SQL[order_by]} {direction}{tie}, s.id"
    )
    if limit is not None or offset:
        sql += " LIMIT ? OFFSET ?"
        params += [-1 if limit is None else int(limit), int(offset)]
    return sql, params


def count_sql(where: SessionFilter) -> tuple[str, list[object]]:
    """The query counting the sessions ``where`` keeps (the verdict is joined only for the search words)."""
    clause, params = where.where()
    joins = "FROM sessions AS s " + (_VERDICT if parse_search(where.search)[1] else "")
    return "SELECT count(*) AS n " + joins + clause, params
