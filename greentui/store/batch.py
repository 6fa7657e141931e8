"""What the store writer commits: the SQL statements for each event kind, and the batch that collects rows.

A :class:`Batch` turns events into parameter rows (one list per statement) and keeps the events themselves, so
a batch that cannot be committed can go to the recovery journal as it came. :meth:`Batch.execute` runs in the
caller's transaction. ``recovering=True`` uses statements that never overwrite what the database already holds
(a journal recovered twice, or after the session was resumed, adds nothing twice; see store/recover.py).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from typing import Any

import psutil

from greentui.core.records import (
    Event,
    IdleMeasured,
    ItemScored,
    ItemStarted,
    ModelLoaded,
    PowerSample,
    PowerSampled,
    RunFailed,
    SessionFinished,
    SessionStarted,
    is_correct,
)

NOT_STORED = frozenset({"token", "model_loading"})  # shown live only; replay cannot yield them
FLUSH_KINDS = frozenset({"session_started", "model_loaded", "item_scored", "run_failed", "session_finished"})
MAX_ORPHANS = 100_000  # events that arrive before any SessionStarted are held (bounded) until it comes

_SESSION_COLUMNS = (
    "id",
    "task_id",
    "task_name",
    "task_version",
    "n_items",
    "schedule",
    "model_a",
    "model_b",
    "settings_json",
    "power_sources_json",
    "power_quality",
    "power_note",
    "grid_g_per_kwh",
    "grid_source",
    "country",
    "pue",
    "host",
    "pid",
    "pid_started_unix_s",
    "started_unix_s",
    "t0_mono_s",
    "sweep_id",
    "sweep_key",
    "fingerprint",
    "fingerprint_json",
)
_SESSION_RESTART = (
    "task_version",
    "settings_json",
    "power_sources_json",
    "power_quality",
    "power_note",
    "grid_g_per_kwh",
    "grid_source",
    "country",
    "pue",
    "host",
    "pid",
    "pid_started_unix_s",
    "sweep_id",
    "sweep_key",
)
# A session resumed on other hardware (another cluster node, a changed driver or power limit) keeps the earlier
# fingerprint under "earlier" and is marked 'mixed', so its figures are never taken for one machine's.
_FINGERPRINT_RESTART = (
    "fingerprint = CASE WHEN sessions.fingerprint IS NULL OR excluded.fingerprint IS NULL "
    "OR sessions.fingerprint = excluded.fingerprint THEN coalesce(excluded.fingerprint, sessions.fingerprint) "
    "ELSE 'mixed' END, "
    "fingerprint_json = CASE WHEN sessions.fingerprint IS NULL OR excluded.fingerprint IS NULL "
    "OR sessions.fingerprint = excluded.fingerprint THEN excluded.fingerprint_json "
    "ELSE json_set(excluded.fingerprint_json, '$.earlier', json(sessions.fingerprint_json)) END"
)
SQL_SESSION = (
    f"INSERT INTO sessions ({', '.join(_SESSION_COLUMNS)}) VALUES ({', '.join('?' * len(_SESSION_COLUMNS))}) "
    # the same id again is a resumed session: it runs again, its first start and its rows are kept
    "ON CONFLICT (id) DO UPDATE SET status = 'running', status_reason = '', ended_unix_s = NULL, "
    "ended_mono_s = NULL, " + ", ".join(f"{c} = excluded.{c}" for c in _SESSION_RESTART) + ", " + _FINGERPRINT_RESTART
)
_RUN_COLUMNS = (
    "spec",
    "display_name",
    "params_total",
    "params_trainable",
    "weight_bytes",
    "dtype",
    "quant",
    "device",
    "load_s",
    "peak_rss_bytes",
    "peak_cuda_bytes",
    "provenance",
    "loaded_mono_s",
)
SQL_RUN_LOADED = (
    f"INSERT INTO runs (session_id, side, status, {', '.join(_RUN_COLUMNS)}) "
    f"VALUES (?, ?, 'loaded', {', '.join('?' * len(_RUN_COLUMNS))}) "
    "ON CONFLICT (session_id, side) DO UPDATE SET status = 'loaded', failure = NULL, failure_reason = NULL, "
    "failed_mono_s = NULL, " + ", ".join(f"{c} = excluded.{c}" for c in _RUN_COLUMNS)
)
SQL_RUN_FAILED = (
    "INSERT INTO runs (session_id, side, status, failure, failure_reason, failed_mono_s) "
    "VALUES (?, ?, 'failed', ?, ?, ?) ON CONFLICT (session_id, side) DO UPDATE SET status = 'failed', "
    "failure = excluded.failure, failure_reason = excluded.failure_reason, failed_mono_s = excluded.failed_mono_s"
)
SQL_RUN_ENSURE = "INSERT OR IGNORE INTO runs (session_id, side) VALUES (?, ?)"
# The full recount, for the rare batch that re-scores an item already finished (an incremental sum would count it
# twice). Everything else adds the batch's items to the running sums (SQL_RUN_ADD), so storing an item costs the
# same at item 800 as at item 5.
SQL_RUN_SUMMARY = """
UPDATE runs SET (items_done, correct, score_sum, energy_j, tokens_out) = (
    -- "correct" as greentui.core.records.is_correct defines it (score >= 1); continuous metrics read score_sum
    SELECT count(*), coalesce(sum(i.score >= 1.0), 0), coalesce(sum(i.score), 0), sum(i.joules),
           coalesce(sum(i.tokens_out), 0)
    FROM items AS i
    WHERE i.session_id = runs.session_id AND i.side = runs.side AND i.ended_mono_s IS NOT NULL)
WHERE session_id = ? AND side = ?
"""
SQL_CHANNEL_INSERT = (
    "INSERT OR IGNORE INTO channels (session_id, device, source, quality, power_kind) VALUES (?, ?, ?, ?, ?)"
)
SQL_CHANNEL_ID = (
    "SELECT id FROM channels WHERE session_id = ? AND device = ? AND source = ? AND quality = ? AND power_kind = ?"
)
# A second reading of one device at the very same instant adds nothing: ignore it rather than fail the batch.
SQL_SAMPLE = (
    "INSERT OR IGNORE INTO samples (channel_id, t_mono_s, power_w, energy_counter_j, temperature_c, "
    "sm_clock_mhz) VALUES (?, ?, ?, ?, ?, ?)"
)
SQL_RUN_ADD = (
    "UPDATE runs SET items_done = items_done + ?, correct = correct + ?, score_sum = score_sum + ?, "
    "energy_j = CASE WHEN ? THEN coalesce(energy_j, 0) + ? ELSE energy_j END, tokens_out = tokens_out + ? "
    "WHERE session_id = ? AND side = ?"
)
SQL_ITEM_FINISHED = "SELECT 1 FROM items WHERE session_id = ? AND side = ? AND item_id = ? AND ended_mono_s IS NOT NULL"
SQL_ITEM_STARTED = (
    "INSERT INTO items (session_id, side, item_id, idx, prompt, started_event_mono_s) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (session_id, side, item_id) DO UPDATE SET idx = excluded.idx, prompt = excluded.prompt, "
    "started_event_mono_s = excluded.started_event_mono_s"
)
_ITEM_COLUMNS = (
    "idx",
    "prompt",
    "output",
    "answer",
    "reference",
    "score",
    "tokens_in",
    "tokens_out",
    "ttft_s",
    "seconds",
    "joules",
    "energy_quality",
    "energy_source",
    "energy_flagged",
    "started_mono_s",
    "first_token_mono_s",
    "last_token_mono_s",
    "ended_mono_s",
    "stop_reason",
    "measurement_method",
    "energy_scope",
    "joules_machine",
    "contention_share",
    "contended",
    "gpu_other_processes",
    "gpu_temperature_c",
    "score_detail",
    "tokens_counted_by",
)
SQL_ITEM_SCORED = (
    f"INSERT INTO items (session_id, side, item_id, {', '.join(_ITEM_COLUMNS)}) "
    f"VALUES (?, ?, ?, {', '.join('?' * len(_ITEM_COLUMNS))}) "
    "ON CONFLICT (session_id, side, item_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _ITEM_COLUMNS)
)
SQL_IDLE = (
    "UPDATE sessions SET idle_seconds = ?, idle_joules = ?, idle_power_w = ?, idle_quality = ?, "
    "idle_source = ?, idle_mono_s = ?, idle_contention_share = ?, idle_contended = ? WHERE id = ?"
)
SQL_FINISHED = (
    "UPDATE sessions SET status = ?, status_reason = ?, ended_mono_s = ?, ended_unix_s = ?, "
    "measurements_json = ?, sampling_rate_hz = ?, measurement_method = ?, contended_windows = ?, "
    "other_cpu_share = ? WHERE id = ?"
)
SQL_RUNS_FINISHED = "UPDATE runs SET status = 'finished' WHERE session_id = ? AND status = 'loaded'"

# ---- recovering a journal: fill in what is missing, never overwrite ------------------------------------------
# A session row that exists stays as it is; a run row is filled only while it is an empty 'pending' one; an item
# only while it is unfinished. The run's end (failure, final status) applies only while the session row is still
# the one this journal's process was writing (same host and pid, not ended): not after a later resume.
_OWNED = "SELECT 1 FROM sessions WHERE id = ? AND ended_unix_s IS NULL AND host IS ? AND pid IS ?"


def _number_or_none(value: Any) -> float | None:
    """A finite number from session measurements (written by this code, but stored JSON is still checked)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


RECOVER_SESSION = SQL_SESSION.split(" ON CONFLICT ")[0] + " ON CONFLICT (id) DO NOTHING"
RECOVER_RUN_LOADED = SQL_RUN_LOADED + " WHERE runs.status = 'pending'"
RECOVER_RUN_FAILED = (
    "INSERT INTO runs (session_id, side, status, failure, failure_reason, failed_mono_s) "
    f"SELECT ?, ?, 'failed', ?, ?, ? WHERE EXISTS ({_OWNED}) ON CONFLICT (session_id, side) DO UPDATE SET "
    "status = 'failed', failure = excluded.failure, failure_reason = excluded.failure_reason, "
    "failed_mono_s = excluded.failed_mono_s"
)
RECOVER_ITEM_STARTED = (
    SQL_ITEM_STARTED.split(" ON CONFLICT ")[0] + " ON CONFLICT (session_id, side, item_id) DO NOTHING"
)
RECOVER_ITEM_SCORED = SQL_ITEM_SCORED + " WHERE items.ended_mono_s IS NULL"
RECOVER_IDLE = SQL_IDLE + " AND idle_mono_s IS NULL"
RECOVER_FINISHED = SQL_FINISHED + " AND ended_unix_s IS NULL AND host IS ? AND pid IS ?"


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def process_identity() -> tuple[str, int, float | None]:
    """(host, pid, process create time): what recover_stale() checks to tell a live writer from a dead one."""
    try:
        created: float | None = psutil.Process(os.getpid()).create_time()
    except psutil.Error:
        created = None
    return socket.gethostname(), os.getpid(), created


class Batch:
    """Rows waiting for the next commit, one parameter list per statement, and the events they came from."""

    def __init__(self) -> None:
        self.channel_ids: dict[tuple[str, str, str, str, str], int] = {}
        self.clear()

    def clear(self) -> None:
        self.n_events = 0
        self.first_mono_s: float | None = None
        self.events: list[tuple[str, Event]] = []  # (session id, event): what the journal gets if the commit fails
        self.sessions: list[tuple[Any, ...]] = []
        self.loaded: list[tuple[Any, ...]] = []
        self.samples: list[tuple[str, PowerSample]] = []
        self.started: list[tuple[Any, ...]] = []
        self.scored: list[tuple[Any, ...]] = []
        self.touched_runs: dict[tuple[str, str], None] = {}
        self.scored_items: list[tuple[str, ItemScored]] = []
        self.idle: list[tuple[Any, ...]] = []
        self.failed: list[tuple[Any, ...]] = []
        self.finished: list[tuple[Any, ...]] = []

    def add(self, session_id: str, event: Event, identity: tuple[str, int, float | None]) -> None:
        if self.first_mono_s is None:
            self.first_mono_s = time.monotonic()
        self.n_events += 1
        self.events.append((session_id, event))
        if isinstance(event, PowerSampled):
            self.samples.append((session_id, event.sample))
        elif isinstance(event, ItemStarted):
            self.started.append((session_id, event.side, event.item_id, event.index, event.prompt, event.t_mono_s))
        elif isinstance(event, ItemScored):
            self.scored.append(
                (
                    session_id,
                    event.side,
                    event.item_id,
                    *(getattr(event, "index" if c == "idx" else c) for c in _ITEM_COLUMNS),
                )
            )
            self.touched_runs[(session_id, event.side)] = None
            self.scored_items.append((session_id, event))
        elif isinstance(event, SessionStarted):
            settings = event.stored_settings()  # the flat shape: config fields, task_info, the extra facts
            task_version = settings.get("task_version")
            fingerprint = settings.get("fingerprint")
            grid = event.grid
            self.sessions.append(
                (
                    event.session_id,
                    event.task_id,
                    event.task_name,
                    None if task_version is None else str(task_version),
                    event.n_items,
                    event.schedule,
                    event.model_a,
                    event.model_b,
                    json.dumps(settings, default=str),
                    json.dumps(list(event.power_sources)),
                    event.power_quality,
                    event.power_note,
                    grid.g_per_kwh,
                    grid.source,
                    grid.country_iso3,
                    grid.pue,
                    *identity,
                    event.started_unix_s,
                    event.t_mono_s,
                    _text_or_none(settings.get("sweep_id")),
                    _text_or_none(settings.get("sweep_key")),
                    _text_or_none(settings.get("fingerprint_key")) if isinstance(fingerprint, dict) else None,
                    json.dumps(fingerprint if isinstance(fingerprint, dict) else {}, default=str),
                )
            )
        elif isinstance(event, ModelLoaded):
            self.loaded.append(
                (session_id, event.side, *(getattr(event, c) for c in _RUN_COLUMNS[:-1]), event.t_mono_s)
            )
        elif isinstance(event, IdleMeasured):
            self.idle.append(
                (
                    event.seconds,
                    event.joules,
                    event.power_w,
                    event.quality,
                    event.source,
                    event.t_mono_s,
                    event.contention_share,
                    event.contended,
                    session_id,
                )
            )
        elif isinstance(event, RunFailed):
            self.failed.append((session_id, event.side, event.failure, event.reason, event.t_mono_s))
        elif isinstance(event, SessionFinished):
            figures = event.measurements or {}
            found = figures.get("contention")
            contention: dict[str, Any] = found if isinstance(found, dict) else {}
            methods = figures.get("measurement_methods")
            self.finished.append(
                (
                    event.status,
                    event.reason,
                    event.t_mono_s,
                    event.ended_unix_s,
                    json.dumps(event.measurements, default=str),
                    _number_or_none(figures.get("sampling_rate_hz", figures.get("sample_rate_hz"))),
                    ",".join(str(m) for m in methods) if isinstance(methods, list) and methods else None,
                    _number_or_none(contention.get("contended_windows")),
                    _number_or_none(contention.get("other_cpu_share")),
                    session_id,
                )
            )
        else:
            self.n_events -= 1  # an event kind this store does not know: nothing to write
            self.events.pop()

    def _channel_id(self, conn: sqlite3.Connection, session_id: str, sample: PowerSample) -> int:
        key = (session_id, sample.device, sample.source, sample.quality, sample.power_kind)
        channel = self.channel_ids.get(key)
        if channel is None:
            conn.execute(SQL_CHANNEL_INSERT, key)
            channel = int(conn.execute(SQL_CHANNEL_ID, key).fetchone()[0])
            self.channel_ids[key] = channel
        return channel

    def execute(self, conn: sqlite3.Connection, *, recovering: tuple[str, int] | None = None) -> None:
        """Run every pending statement inside the caller's transaction, parents before children.

        ``recovering``: (host, pid) of the process that wrote the journal these events come from; the
        statements then only fill in what the database lacks (see the RECOVER_ statements above).
        """
        if self.sessions:
            conn.executemany(RECOVER_SESSION if recovering else SQL_SESSION, self.sessions)
        if self.loaded:
            conn.executemany(RECOVER_RUN_LOADED if recovering else SQL_RUN_LOADED, self.loaded)
        if self.samples:
            channel_id = self._channel_id
            conn.executemany(
                SQL_SAMPLE,
                [
                    (
                        channel_id(conn, sid, s),
                        s.t_mono_s,
                        s.power_w,
                        s.energy_counter_j,
                        s.temperature_c,
                        s.sm_clock_mhz,
                    )
                    for sid, s in self.samples
                ],
            )
        if self.started:
            conn.executemany(RECOVER_ITEM_STARTED if recovering else SQL_ITEM_STARTED, self.started)
        if self.scored and recovering:  # only what the database lacks goes in: recount the touched runs
            conn.executemany(RECOVER_ITEM_SCORED, self.scored)
            conn.executemany(SQL_RUN_ENSURE, list(self.touched_runs))
            conn.executemany(SQL_RUN_SUMMARY, list(self.touched_runs))
        elif self.scored:
            seen: set[tuple[str, str, str]] = set()
            recount: set[tuple[str, str]] = set()
            for sid, item in self.scored_items:
                key = (sid, item.side, item.item_id)
                if key in seen or conn.execute(SQL_ITEM_FINISHED, key).fetchone() is not None:
                    recount.add((sid, item.side))
                seen.add(key)
            conn.executemany(SQL_ITEM_SCORED, self.scored)
            conn.executemany(SQL_RUN_ENSURE, list(self.touched_runs))
            conn.executemany(
                SQL_RUN_ADD,
                [
                    (
                        1,
                        int(is_correct(item.score)),
                        item.score,
                        item.joules is not None,
                        item.joules or 0.0,
                        item.tokens_out or 0,
                        sid,
                        item.side,
                    )
                    for sid, item in self.scored_items
                    if (sid, item.side) not in recount
                ],
            )
            conn.executemany(SQL_RUN_SUMMARY, sorted(recount))
        if self.idle:
            conn.executemany(RECOVER_IDLE if recovering else SQL_IDLE, self.idle)
        if recovering is None:
            if self.failed:
                conn.executemany(SQL_RUN_FAILED, self.failed)
            if self.finished:
                conn.executemany(SQL_FINISHED, self.finished)
                conn.executemany(SQL_RUNS_FINISHED, [(row[-1],) for row in self.finished])
            return
        for row in self.failed:
            conn.execute(RECOVER_RUN_FAILED, (*row, row[0], *recovering))
        for row in self.finished:
            if conn.execute(RECOVER_FINISHED, (*row, *recovering)).rowcount:
                conn.execute(SQL_RUNS_FINISHED, (row[-1],))
