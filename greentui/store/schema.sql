-- greentui store, schema version 3 (PRAGMA user_version = 3, PRAGMA application_id = 0x47544B31 "GTK1").
-- A fresh database gets exactly this; older ones reach it through greentui/store/migrations.py.
-- Units are in the column names (_s seconds, _unix_s wall clock, _mono_s time.monotonic(), _j joules, _w watts).
-- NULL means "not available", never 0.

CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    status              TEXT NOT NULL DEFAULT 'running'
                        CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
    status_reason       TEXT NOT NULL DEFAULT '',
    task_id             TEXT NOT NULL,
    task_name           TEXT NOT NULL,
    task_version        TEXT,                        -- settings["task_version"]: sha256 of the task files
    n_items             INTEGER NOT NULL,            -- items per side
    schedule            TEXT NOT NULL,
    model_a             TEXT NOT NULL,               -- ModelSpec text form
    model_b             TEXT NOT NULL,
    settings_json       TEXT NOT NULL DEFAULT '{}',  -- SessionStarted.settings (the whole SessionConfig)
    power_sources_json  TEXT NOT NULL DEFAULT '[]',
    power_quality       TEXT NOT NULL,               -- measured | estimated
    power_note          TEXT NOT NULL DEFAULT '',
    grid_g_per_kwh      REAL NOT NULL,
    grid_source         TEXT NOT NULL,
    country             TEXT,                        -- ISO3
    pue                 REAL NOT NULL DEFAULT 1.0,
    host                TEXT,                        -- the writer's host name and process, for recover_stale()
    pid                 INTEGER,
    pid_started_unix_s  REAL,                        -- create time of that process: a reused pid is not "alive"
    started_unix_s      REAL NOT NULL,
    ended_unix_s        REAL,
    t0_mono_s           REAL NOT NULL,               -- SessionStarted.t_mono_s
    ended_mono_s        REAL,                        -- SessionFinished.t_mono_s (NULL: never finished)
    idle_seconds        REAL,                        -- IdleMeasured (idle_mono_s NULL: not measured yet)
    idle_joules         REAL,
    idle_power_w        REAL,
    idle_quality        TEXT,
    idle_source         TEXT,
    idle_mono_s         REAL,
    measurements_json   TEXT NOT NULL DEFAULT '{}',  -- SessionFinished.measurements
    sweep_id            TEXT,                        -- settings["sweep_id"]: the sweep's name (NULL: not in a sweep)
    sweep_key           TEXT,                        -- settings["sweep_key"]: content hash of the session in its sweep
    fingerprint         TEXT,                        -- fingerprint_key(): 12 hex digits; 'mixed' when resumed elsewhere
    fingerprint_json    TEXT NOT NULL DEFAULT '{}',  -- settings["fingerprint"]: host, CPU, GPUs, driver, power limits
    idle_contention_share REAL,                      -- IdleMeasured: share of CPU time other programs used in the baseline
    idle_contended      INTEGER,                     -- 1: the baseline was taken on a busy machine (not used as idle)
    sampling_rate_hz    REAL,                        -- measurements["sampling_rate_hz"]: the sampler's achieved rate
    measurement_method  TEXT,                        -- the energy methods the items used: counter, integrated (comma list)
    contended_windows   INTEGER,                     -- item windows flagged contended
    other_cpu_share     REAL                         -- time-weighted share of CPU time other programs used in the windows
);
CREATE INDEX sessions_started ON sessions (started_unix_s);
CREATE INDEX sessions_task ON sessions (task_id);
CREATE INDEX sessions_sweep ON sessions (sweep_id, sweep_key);

-- One row per sweep (greentui sweep FILE): its checked definition and the content keys of its latest plan.
-- Sessions name their sweep in sessions.sweep_id; no foreign key, so a session merged from a cluster worker's
-- database (which has no sweeps table rows) is accepted.
CREATE TABLE sweeps (
    name                TEXT PRIMARY KEY,
    definition_json     TEXT NOT NULL,               -- Sweep.to_dict()
    plan_json           TEXT NOT NULL DEFAULT '[]',  -- [{"key", "task_id", "candidate", "reference"}] in run order
    created_unix_s      REAL NOT NULL,
    updated_unix_s      REAL NOT NULL
);

-- One row per side. Created by ModelLoaded (or by RunFailed when the model never loaded); the summary
-- columns (items_done .. tokens_out) are recomputed from items in the transaction that stores each item,
-- so listing sessions never has to aggregate the items table.
CREATE TABLE runs (
    session_id          TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    side                TEXT NOT NULL CHECK (side IN ('A', 'B')),
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'loaded', 'failed', 'finished')),
    spec                TEXT,
    display_name        TEXT,
    params_total        INTEGER,
    params_trainable    INTEGER,
    weight_bytes        INTEGER,
    dtype               TEXT,
    quant               TEXT,
    device              TEXT,
    load_s              REAL,
    peak_rss_bytes      INTEGER,
    peak_cuda_bytes     INTEGER,
    loaded_mono_s       REAL,                        -- ModelLoaded.t_mono_s
    failure             TEXT,                        -- RunFailed: load | crash | oom | killed | timeout | unavailable
    failure_reason      TEXT,
    failed_mono_s       REAL,
    items_done          INTEGER NOT NULL DEFAULT 0,
    correct             INTEGER NOT NULL DEFAULT 0,  -- items with score >= 1
    score_sum           REAL NOT NULL DEFAULT 0,
    energy_j            REAL,                        -- sum of the items' joules (NULL: none measured)
    tokens_out          INTEGER NOT NULL DEFAULT 0,
    provenance          TEXT,                        -- where the weights came from ("from Q4_1 GGUF, dequantized to fp32")
    PRIMARY KEY (session_id, side)
);

-- A power channel: one device read by one source. Samples refer to it by a small integer so a sample row
-- holds only numbers (about 40 bytes at 20 Hz x 2 devices: a few MB per hour).
CREATE TABLE channels (
    id                  INTEGER PRIMARY KEY,
    session_id          TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    device              TEXT NOT NULL,
    source              TEXT NOT NULL,
    quality             TEXT NOT NULL,
    power_kind          TEXT NOT NULL,
    UNIQUE (session_id, device, source, quality, power_kind)
);

CREATE TABLE samples (
    channel_id          INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    t_mono_s            REAL NOT NULL,
    power_w             REAL,
    energy_counter_j    REAL,
    temperature_c       REAL,
    sm_clock_mhz        REAL,
    PRIMARY KEY (channel_id, t_mono_s)
) WITHOUT ROWID;

-- One row per item and side: created by ItemStarted, completed by ItemScored (ended_mono_s NOT NULL).
CREATE TABLE items (
    session_id          TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    side                TEXT NOT NULL CHECK (side IN ('A', 'B')),
    item_id             TEXT NOT NULL,
    idx                 INTEGER NOT NULL,
    prompt              TEXT NOT NULL,
    started_event_mono_s REAL,                       -- ItemStarted.t_mono_s
    output              TEXT,
    answer              TEXT,
    reference           TEXT,
    score               REAL,
    tokens_in           INTEGER,
    tokens_out          INTEGER,
    ttft_s              REAL,
    seconds             REAL,
    joules              REAL,
    energy_quality      TEXT,
    energy_source       TEXT,
    energy_flagged      INTEGER,
    started_mono_s      REAL,
    first_token_mono_s  REAL,
    last_token_mono_s   REAL,
    ended_mono_s        REAL,
    stop_reason         TEXT,
    measurement_method  TEXT,                        -- counter | integrated | none (NULL: stored before v3)
    energy_scope        TEXT,                        -- device | process tree | machine
    joules_machine      REAL,                        -- the whole machine's estimate when joules is per process tree
    contention_share    REAL,                        -- share of the machine's CPU time other programs used
    contended           INTEGER,                     -- 1: above the threshold, or another process on the GPU
    gpu_other_processes INTEGER,                     -- other processes with work on the models' GPUs (NULL: no NVML)
    gpu_temperature_c   REAL,                        -- hottest GPU reading inside the window
    score_detail        TEXT,                        -- the scorer's one line: why this score
    tokens_counted_by   TEXT,                        -- generated ids | reported by the server | counted by greentui
                                                     -- | not reported (then tokens_in/out are NULL)
    PRIMARY KEY (session_id, side, item_id)
);

CREATE TABLE verdicts (
    id                  INTEGER PRIMARY KEY,
    session_id          TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_unix_s      REAL NOT NULL,
    verdict_json        TEXT NOT NULL,               -- Verdict.to_dict()
    sentence            TEXT
);
CREATE INDEX verdicts_session ON verdicts (session_id, id);
