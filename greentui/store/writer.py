"""The store's single writer: a thread that turns the session's events into rows, in batches.

``handle(event)`` is called from the session thread and the power sampler thread; it only appends to a
list under a lock, so it never waits on the disk. The thread commits at once when an event that must not be
lost arrives (SessionStarted, ModelLoaded, ItemScored, RunFailed, SessionFinished) and otherwise (power
samples, ItemStarted, IdleMeasured) at most once a second, with ``executemany`` per statement.

A write that fails (disk full, file made read-only, a lock held past the busy timeout) is rolled back,
reported once through ``on_error`` and remembered in :attr:`StoreWriter.error`; later events are counted in
:attr:`StoreWriter.dropped_events` and not written. Everything committed before stays readable.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
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
)
from greentui.store.connection import Database
from greentui.store.errors import StoreError, translate

log = logging.getLogger(__name__)

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
SQL_RUN_SUMMARY = """
UPDATE runs SET (items_done, correct, score_sum, energy_j, tokens_out) = (
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
)
SQL_ITEM_SCORED = (
    f"INSERT INTO items (session_id, side, item_id, {', '.join(_ITEM_COLUMNS)}) "
    f"VALUES (?, ?, ?, {', '.join('?' * len(_ITEM_COLUMNS))}) "
    "ON CONFLICT (session_id, side, item_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _ITEM_COLUMNS)
)
SQL_IDLE = (
    "UPDATE sessions SET idle_seconds = ?, idle_joules = ?, idle_power_w = ?, idle_quality = ?, "
    "idle_source = ?, idle_mono_s = ? WHERE id = ?"
)
SQL_FINISHED = (
    "UPDATE sessions SET status = ?, status_reason = ?, ended_mono_s = ?, ended_unix_s = ?, "
    "measurements_json = ? WHERE id = ?"
)
SQL_RUNS_FINISHED = "UPDATE runs SET status = 'finished' WHERE session_id = ? AND status = 'loaded'"


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _process_identity() -> tuple[str, int, float | None]:
    """(host, pid, process create time): what recover_stale() checks to tell a live writer from a dead one."""
    try:
        created: float | None = psutil.Process(os.getpid()).create_time()
    except psutil.Error:
        created = None
    return socket.gethostname(), os.getpid(), created


class _Batch:
    """Rows waiting for the next commit, one parameter list per statement."""

    def __init__(self) -> None:
        self.channel_ids: dict[tuple[str, str, str, str, str], int] = {}
        self.clear()

    def clear(self) -> None:
        self.n_events = 0
        self.first_mono_s: float | None = None
        self.sessions: list[tuple[Any, ...]] = []
        self.loaded: list[tuple[Any, ...]] = []
        self.samples: list[tuple[str, PowerSample]] = []
        self.started: list[tuple[Any, ...]] = []
        self.scored: list[tuple[Any, ...]] = []
        self.touched_runs: dict[tuple[str, str], None] = {}
        self.idle: list[tuple[Any, ...]] = []
        self.failed: list[tuple[Any, ...]] = []
        self.finished: list[tuple[Any, ...]] = []

    def add(self, session_id: str, event: Event, identity: tuple[str, int, float | None]) -> None:
        if self.first_mono_s is None:
            self.first_mono_s = time.monotonic()
        self.n_events += 1
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
        elif isinstance(event, SessionStarted):
            settings = event.settings or {}
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
                (event.seconds, event.joules, event.power_w, event.quality, event.source, event.t_mono_s, session_id)
            )
        elif isinstance(event, RunFailed):
            self.failed.append((session_id, event.side, event.failure, event.reason, event.t_mono_s))
        elif isinstance(event, SessionFinished):
            self.finished.append(
                (
                    event.status,
                    event.reason,
                    event.t_mono_s,
                    event.ended_unix_s,
                    json.dumps(event.measurements, default=str),
                    session_id,
                )
            )
        else:
            self.n_events -= 1  # an event kind this store does not know: nothing to write

    def _channel_id(self, conn: sqlite3.Connection, session_id: str, sample: PowerSample) -> int:
        key = (session_id, sample.device, sample.source, sample.quality, sample.power_kind)
        channel = self.channel_ids.get(key)
        if channel is None:
            conn.execute(SQL_CHANNEL_INSERT, key)
            channel = int(conn.execute(SQL_CHANNEL_ID, key).fetchone()[0])
            self.channel_ids[key] = channel
        return channel

    def execute(self, conn: sqlite3.Connection) -> None:
        """Run every pending statement inside the caller's transaction, parents before children."""
        if self.sessions:
            conn.executemany(SQL_SESSION, self.sessions)
        if self.loaded:
            conn.executemany(SQL_RUN_LOADED, self.loaded)
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
            conn.executemany(SQL_ITEM_STARTED, self.started)
        if self.scored:
            conn.executemany(SQL_ITEM_SCORED, self.scored)
            conn.executemany(SQL_RUN_ENSURE, list(self.touched_runs))
            conn.executemany(SQL_RUN_SUMMARY, list(self.touched_runs))
        if self.idle:
            conn.executemany(SQL_IDLE, self.idle)
        if self.failed:
            conn.executemany(SQL_RUN_FAILED, self.failed)
        if self.finished:
            conn.executemany(SQL_FINISHED, self.finished)
            conn.executemany(SQL_RUNS_FINISHED, [(row[-1],) for row in self.finished])


class StoreWriter:
    """Writes one session's events (or several sessions' in turn) from a background thread.

    ``flush_interval_s`` is the longest time a power sample waits before it is committed; ``max_batch`` caps
    the rows held in memory between commits.
    """

    def __init__(
        self,
        connect: Callable[[], Database],
        path: Path,
        *,
        on_error: Callable[[StoreError], None] | None = None,
        flush_interval_s: float = 1.0,
        max_batch: int = 20_000,
    ) -> None:
        self._connect = connect  # opens the writer thread's own connection; raises StoreError
        self._path = path
        self._on_error = on_error
        self._flush_interval_s = flush_interval_s
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[Event] = []
        self._received = 0  # events accepted by handle()
        self._settled = 0  # of those, events committed or dropped
        self._flush_target = 0  # flush() waits until _settled reaches this
        self._closing = False
        self.error: StoreError | None = None
        self._dropped_closed = 0  # handled after close() (under the lock)
        self._dropped_unsaved = 0  # not written after an error (writer thread only)
        self._session_id: str | None = None
        self._orphans: list[Event] = []
        self._thread = threading.Thread(target=self._run, name="greentui-store-writer", daemon=True)
        self._thread.start()

    # ---- called from any thread ------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        """Queue one event (thread-safe, never waits on the disk). Token and load-progress events are skipped."""
        if event.kind in NOT_STORED:
            return
        with self._cond:
            if self._closing:
                self._dropped_closed += 1
                return
            self._queue.append(event)
            self._received += 1
            if event.kind in FLUSH_KINDS or len(self._queue) >= self._max_batch:
                self._cond.notify_all()

    def flush(self, timeout_s: float | None = None) -> bool:
        """Commit everything handled so far; True once done (or dropped after an error), False on timeout."""
        with self._cond:
            target = self._received
            self._flush_target = max(self._flush_target, target)
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._settled >= target or not self._thread.is_alive(), timeout_s)

    def close(self, timeout_s: float | None = None) -> None:
        """Drain the queue, commit, and stop the thread. Safe to call twice."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout_s)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dropped_events(self) -> int:
        """Events not written: after a write error, before any SessionStarted, or handled after close()."""
        return self._dropped_closed + self._dropped_unsaved

    @property
    def session_id(self) -> str | None:
        """The session the writer is storing now (from the last SessionStarted)."""
        return self._session_id

    # ---- the writer thread -----------------------------------------------------------------------
    def _fail(self, error: StoreError) -> None:
        if self.error is not None:
            return
        self.error = error
        # on_error is the channel to the user; logging at warning level would print over a running TUI
        log.info("store writer stopped: %s", error)
        if self._on_error is not None:
            try:
                self._on_error(error)
            except Exception:  # a broken callback must not kill the writer thread
                log.debug("store writer on_error callback raised", exc_info=True)

    def _commit(self, db: Database | None, batch: _Batch) -> None:
        if batch.n_events == 0:
            return
        if db is None or self.error is not None:
            self._dropped_unsaved += batch.n_events
            batch.clear()
            return
        try:
            db.execute("BEGIN IMMEDIATE")
            batch.execute(db.conn)
            db.execute("COMMIT")
        except Exception as exc:  # sqlite3 errors and anything else a bad event may raise
            try:
                db.rollback()
            except sqlite3.Error:
                pass
            batch.channel_ids.clear()  # rows inserted in the failed transaction are gone
            self._dropped_unsaved += batch.n_events
            if isinstance(exc, sqlite3.Error):
                self._fail(translate(exc, self._path, "save the session"))
            else:
                log.debug("store writer could not save a batch", exc_info=True)
                self._fail(StoreError(f"{self._path}: could not save the session ({exc})"))
        batch.clear()

    def _route(self, event: Event, batch: _Batch, identity: tuple[str, int, float | None]) -> None:
        if isinstance(event, SessionStarted):
            self._session_id = event.session_id
            batch.add(event.session_id, event, identity)
            orphans, self._orphans = self._orphans, []
            for orphan in orphans:
                batch.add(event.session_id, orphan, identity)
        elif self._session_id is None:
            if len(self._orphans) < MAX_ORPHANS:
                self._orphans.append(event)
            else:
                self._dropped_unsaved += 1
        else:
            batch.add(self._session_id, event, identity)

    def _run(self) -> None:
        db: Database | None = None
        try:
            db = self._connect()
        except StoreError as error:
            self._fail(error)
        try:
            self._loop(db)
        except Exception as exc:  # a bug must not leave flush() and close() waiting on a dead thread
            log.debug("store writer thread failed", exc_info=True)
            self._fail(StoreError(f"{self._path}: the store writer stopped ({exc})"))
        finally:
            with self._cond:
                self._dropped_unsaved += len(self._orphans) + len(self._queue)
                self._settled = self._received
                self._cond.notify_all()
            if db is not None:
                db.close()

    def _loop(self, db: Database | None) -> None:
        identity = _process_identity()
        batch = _Batch()
        taken = 0  # events taken off the queue so far
        while True:
            with self._cond:
                while not self._queue and not self._closing and self._flush_target <= self._settled:
                    if batch.first_mono_s is None:
                        self._cond.wait()
                        continue
                    remaining = batch.first_mono_s + self._flush_interval_s - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                events, self._queue = self._queue, []
                closing = self._closing
                flush_wanted = self._flush_target > self._settled
            for event in events:
                self._route(event, batch, identity)
                if event.kind in FLUSH_KINDS or batch.n_events >= self._max_batch:
                    self._commit(db, batch)
            taken += len(events)
            due = batch.first_mono_s is not None and (time.monotonic() - batch.first_mono_s >= self._flush_interval_s)
            if closing or flush_wanted or due:
                self._commit(db, batch)
            with self._cond:
                # events held while waiting for a SessionStarted count as settled: no flush can write them
                self._settled = taken - batch.n_events
                self._cond.notify_all()
                if closing and not self._queue:
                    return
