"""What the store writer commits: the batch that turns events into rows for the statements in store/statements.py.

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
from greentui.store.statements import (
    ITEM_COLUMNS,
    RECOVER_FINISHED,
    RECOVER_IDLE,
    RECOVER_ITEM_SCORED,
    RECOVER_ITEM_STARTED,
    RECOVER_RUN_FAILED,
    RECOVER_RUN_LOADED,
    RECOVER_SESSION,
    RUN_COLUMNS,
    SQL_CHANNEL_ID,
    SQL_CHANNEL_INSERT,
    SQL_FINISHED,
    SQL_IDLE,
    SQL_ITEM_FINISHED,
    SQL_ITEM_SCORED,
    SQL_ITEM_STARTED,
    SQL_RUN_ADD,
    SQL_RUN_ENSURE,
    SQL_RUN_FAILED,
    SQL_RUN_LOADED,
    SQL_RUN_SUMMARY,
    SQL_RUNS_FINISHED,
    SQL_SAMPLE,
    SQL_SESSION,
)

NOT_STORED = frozenset({"token", "model_loading"})  # shown live only; replay cannot yield them
FLUSH_KINDS = frozenset({"session_started", "model_loaded", "item_scored", "run_failed", "session_finished"})
MAX_ORPHANS = 100_000  # events that arrive before any SessionStarted are held (bounded) until it comes


def _number_or_none(value: Any) -> float | None:
    """A finite number from session measurements (written by this code, but stored JSON is still checked)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


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
                    *(getattr(event, "index" if c == "idx" else c) for c in ITEM_COLUMNS),
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
            self.loaded.append((session_id, event.side, *(getattr(event, c) for c in RUN_COLUMNS[:-1]), event.t_mono_s))
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
