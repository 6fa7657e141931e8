"""The SQL the store writer runs for each event kind, and the journal-recovery variants that never overwrite.

Column lists are spelled once (``ITEM_COLUMNS`` and friends) and the statements are built from them, so an
event's parameter row in :class:`~greentui.store.batch.Batch` and its statement cannot drift apart.
"""

from __future__ import annotations

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
RUN_COLUMNS = (
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
    f"INSERT INTO runs (session_id, side, status, {', '.join(RUN_COLUMNS)}) "
    f"VALUES (?, ?, 'loaded', {', '.join('?' * len(RUN_COLUMNS))}) "
    "ON CONFLICT (session_id, side) DO UPDATE SET status = 'loaded', failure = NULL, failure_reason = NULL, "
    "failed_mono_s = NULL, " + ", ".join(f"{c} = excluded.{c}" for c in RUN_COLUMNS)
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
ITEM_COLUMNS = (
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
    f"INSERT INTO items (session_id, side, item_id, {', '.join(ITEM_COLUMNS)}) "
    f"VALUES (?, ?, ?, {', '.join('?' * len(ITEM_COLUMNS))}) "
    "ON CONFLICT (session_id, side, item_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in ITEM_COLUMNS)
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
