"""Build the schema-v1 fixture database used by the migration tests: ``tests/assets/store_v1.db``.

Schema v1 is the store as first released: no verdicts table, no sessions.task_version /
measurements_json / pid_started_unix_s, no items.stop_reason, and no per-side summary columns on runs.
The data is fixed, so running this script again gives the same rows (compare with ``sqlite3 .dump``).

    .venv/bin/python tests/helpers/make_v1_db.py [OUTPUT]
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

ASSET = Path(__file__).resolve().parents[1] / "assets" / "store_v1.db"
APPLICATION_ID = 0x47544B31

V1_SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
    status_reason TEXT NOT NULL DEFAULT '',
    task_id TEXT NOT NULL, task_name TEXT NOT NULL, n_items INTEGER NOT NULL, schedule TEXT NOT NULL,
    model_a TEXT NOT NULL, model_b TEXT NOT NULL,
    settings_json TEXT NOT NULL DEFAULT '{}', power_sources_json TEXT NOT NULL DEFAULT '[]',
    power_quality TEXT NOT NULL, power_note TEXT NOT NULL DEFAULT '',
    grid_g_per_kwh REAL NOT NULL, grid_source TEXT NOT NULL, country TEXT, pue REAL NOT NULL DEFAULT 1.0,
    host TEXT, pid INTEGER, started_unix_s REAL NOT NULL, ended_unix_s REAL,
    t0_mono_s REAL NOT NULL, ended_mono_s REAL,
    idle_seconds REAL, idle_joules REAL, idle_power_w REAL, idle_quality TEXT, idle_source TEXT, idle_mono_s REAL
);
CREATE INDEX sessions_started ON sessions (started_unix_s);
CREATE TABLE runs (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    side TEXT NOT NULL CHECK (side IN ('A', 'B')),
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'loaded', 'failed', 'finished')),
    spec TEXT, display_name TEXT, params_total INTEGER, params_trainable INTEGER, weight_bytes INTEGER,
    dtype TEXT, quant TEXT, device TEXT, load_s REAL, peak_rss_bytes INTEGER, peak_cuda_bytes INTEGER,
    loaded_mono_s REAL, failure TEXT, failure_reason TEXT, failed_mono_s REAL,
    PRIMARY KEY (session_id, side)
);
CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    device TEXT NOT NULL, source TEXT NOT NULL, quality TEXT NOT NULL, power_kind TEXT NOT NULL,
    UNIQUE (session_id, device, source, quality, power_kind)
);
CREATE TABLE samples (
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    t_mono_s REAL NOT NULL, power_w REAL, energy_counter_j REAL, temperature_c REAL, sm_clock_mhz REAL,
    PRIMARY KEY (channel_id, t_mono_s)
) WITHOUT ROWID;
CREATE TABLE items (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    side TEXT NOT NULL CHECK (side IN ('A', 'B')),
    item_id TEXT NOT NULL, idx INTEGER NOT NULL, prompt TEXT NOT NULL, started_event_mono_s REAL,
    output TEXT, answer TEXT, reference TEXT, score REAL, tokens_in INTEGER, tokens_out INTEGER, ttft_s REAL,
    seconds REAL, joules REAL, energy_quality TEXT, energy_source TEXT, energy_flagged INTEGER,
    started_mono_s REAL, first_token_mono_s REAL, last_token_mono_s REAL, ended_mono_s REAL,
    PRIMARY KEY (session_id, side, item_id)
);
"""

# (id, status, reason, task, model_a, model_b, n_items, started_unix_s, t0_mono_s, finished)
SESSIONS = (
    (
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "completed",
        "all items done",
        "sentiment",
        "smollm2-135m@fp32",
        "smollm2-135m@dynamic-int8",
        4,
        1_770_000_000.0,
        500.0,
        True,
    ),
    (
        "7a7a7a7a000011112222333344445555",
        "interrupted",
        "stopped by the user",
        "arithmetic",
        "smollm2-135m@fp32",
        "smollm2-135m@bf16",
        4,
        1_770_100_000.0,
        9_000.0,
        False,
    ),
)


def build(path: Path) -> Path:
    """Write the v1 fixture to ``path`` (replacing it) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    for sid, status, reason, task, model_a, model_b, n_items, started, t0, finished in SESSIONS:
        settings = {
            "task_version": f"sha256:{task}-v1",
            "model_a": model_a,
            "model_b": model_b,
            "task": task,
            "limit": n_items,
            "schedule": "alternate",
            "sample_hz": 10.0,
            "idle_s": 1.0,
            "country": "DEU",
        }
        ended_mono = t0 + 30.0 if finished else None
        conn.execute(
            "INSERT INTO sessions (id, status, status_reason, task_id, task_name, n_items, schedule, model_a, "
            "model_b, settings_json, power_sources_json, power_quality, power_note, grid_g_per_kwh, grid_source, "
            "country, pue, host, pid, started_unix_s, ended_unix_s, t0_mono_s, ended_mono_s, idle_seconds, "
            "idle_joules, idle_power_w, idle_quality, idle_source, idle_mono_s) "
            "VALUES (?, ?, ?, ?, ?, ?, 'alternate', ?, ?, ?, ?, 'estimated', 'estimated (no RAPL, no GPU)', 381.0, "
            "'codecarbon data: DEU', 'DEU', 1.0, 'fixture-host', 4242, ?, ?, ?, ?, 1.0, 12.0, 12.0, 'estimated', "
            "'estimate', ?)",
            (
                sid,
                status,
                reason,
                task,
                task.title(),
                n_items,
                model_a,
                model_b,
                json.dumps(settings),
                json.dumps(["estimate"]),
                started,
                started + 30.0 if finished else None,
                t0,
                ended_mono,
                t0 + 2.0,
            ),
        )
        for side, spec in (("A", model_a), ("B", model_b)):
            conn.execute(
                "INSERT INTO runs (session_id, side, status, spec, display_name, params_total, params_trainable, "
                "weight_bytes, dtype, quant, device, load_s, peak_rss_bytes, loaded_mono_s) "
                "VALUES (?, ?, ?, ?, ?, 134515008, 134515008, 538060032, 'fp32', 'none', 'cpu', 14.5, 1100000000, ?)",
                (sid, side, "finished" if finished else "loaded", spec, spec, t0 + 0.5 + (side == "B")),
            )
        conn.execute(
            "INSERT INTO channels (session_id, device, source, quality, power_kind) "
            "VALUES (?, 'cpu', 'estimate', 'estimated', 'instant')",
            (sid,),
        )
        channel = conn.execute("SELECT id FROM channels WHERE session_id = ?", (sid,)).fetchone()[0]
        conn.executemany(
            "INSERT INTO samples VALUES (?, ?, ?, NULL, NULL, NULL)",
            [(channel, t0 + 0.1 * k, 12.0 + (k % 7) * 3.5) for k in range(20)],
        )
        done = n_items if finished else 2
        for index in range(done):
            for side in ("A", "B"):
                start = t0 + 3.0 + index * 2.0 + (side == "B")
                score = 1.0 if (index + (side == "B")) % 3 else 0.0
                conn.execute(
                    "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 30, 4, 0.2, 0.8, 9.5, 'estimated', "
                    "'estimate', 0, ?, ?, ?, ?)",
                    (
                        sid,
                        side,
                        f"q{index}",
                        index,
                        f"What is {index} + 1?",
                        start - 0.001,
                        str(index + int(score)),
                        str(index + int(score)),
                        str(index + 1),
                        score,
                        start,
                        start + 0.2,
                        start + 0.7,
                        start + 0.8,
                    ),
                )
    conn.commit()
    conn.execute("VACUUM")
    conn.close()
    return path


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ASSET))
