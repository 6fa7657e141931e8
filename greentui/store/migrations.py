"""Schema identity and versioning: ``PRAGMA application_id`` says "greentui", ``PRAGMA user_version`` says
which schema. A fresh file gets ``schema.sql``; an older greentui database is upgraded forward, one step per
version, inside one ``BEGIN IMMEDIATE`` transaction (so two processes opening it at once cannot both
migrate, and a failed step leaves the file as it was); a newer one is refused.

Version history:
  1  sessions, runs, channels, samples, items (the first release)
  2  + verdicts table; sessions.task_version (backfilled from settings), measurements_json, pid_started_unix_s;
     items.stop_reason; per-side summary columns on runs (backfilled from items) for fast listing
  3  sweeps: sessions.sweep_id, sweep_key, fingerprint, fingerprint_json (hardware) and the sweeps table;
     what each figure rests on: items.measurement_method, energy_scope, joules_machine, contention_share,
     contended, gpu_other_processes, gpu_temperature_c, score_detail; runs.provenance; sessions.idle_contention_share,
     idle_contended, sampling_rate_hz (backfilled from measurements_json), measurement_method, contended_windows,
     other_cpu_share
     items.tokens_counted_by (served models: where the token counts came from; older items: generated ids)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from greentui.store.connection import Database
from greentui.store.errors import StoreVersionError

SCHEMA_VERSION = 3
APPLICATION_ID = 0x47544B31  # "GTK1": marks the file as greentui's, so another app's SQLite file is refused


@dataclass(frozen=True)
class Identity:
    """What an open SQLite file says about itself, read without writing anything."""

    application_id: int
    user_version: int
    tables: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return self.application_id == 0 and self.user_version == 0 and not self.tables

    @property
    def is_greentui(self) -> bool:
        return self.application_id == APPLICATION_ID


def read_identity(db: Database) -> Identity:
    """Read the header PRAGMAs and table names (raises sqlite3 errors for unreadable files)."""
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    return Identity(int(app_id), int(version), tuple(sorted(db.table_names())))


def schema_sql() -> str:
    """The current schema (``schema.sql`` beside this module)."""
    return resources.files("greentui.store").joinpath("schema.sql").read_text(encoding="utf-8")


def _set_version(db: Database, version: int) -> None:
    # PRAGMA arguments cannot be bound parameters; both values are integers this module controls.
    db.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
    db.execute(f"PRAGMA user_version = {int(version):d}")


def _create(db: Database) -> None:
    db.executescript(schema_sql())
    _set_version(db, SCHEMA_VERSION)


# The same per-side totals as the writer's SQL_RUN_SUMMARY, copied on purpose: a migration must keep doing what
# schema v2 meant, even if the live writer's query changes in a later version.
_RUN_SUMMARY_SQL = """
UPDATE runs SET (items_done, correct, score_sum, energy_j, tokens_out) = (
    SELECT count(*), coalesce(sum(i.score >= 1.0), 0), coalesce(sum(i.score), 0), sum(i.joules),
           coalesce(sum(i.tokens_out), 0)
    FROM items AS i
    WHERE i.session_id = runs.session_id AND i.side = runs.side AND i.ended_mono_s IS NOT NULL)
"""


def _v1_to_v2(db: Database) -> None:
    db.executescript(
        """
        ALTER TABLE sessions ADD COLUMN task_version TEXT;
        ALTER TABLE sessions ADD COLUMN measurements_json TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE sessions ADD COLUMN pid_started_unix_s REAL;
        UPDATE sessions SET task_version = json_extract(settings_json, '$.task_version')
            WHERE json_valid(settings_json);
        ALTER TABLE items ADD COLUMN stop_reason TEXT;
        UPDATE items SET stop_reason = 'unknown' WHERE ended_mono_s IS NOT NULL;
        ALTER TABLE runs ADD COLUMN items_done INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN correct INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN score_sum REAL NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN energy_j REAL;
        ALTER TABLE runs ADD COLUMN tokens_out INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE verdicts (
            id                  INTEGER PRIMARY KEY,
            session_id          TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            created_unix_s      REAL NOT NULL,
            verdict_json        TEXT NOT NULL,
            sentence            TEXT
        );
        CREATE INDEX verdicts_session ON verdicts (session_id, id);
        CREATE INDEX IF NOT EXISTS sessions_task ON sessions (task_id);
        """
    )
    db.execute(_RUN_SUMMARY_SQL)


def _v2_to_v3(db: Database) -> None:
    # Sessions stored before v3 ran outside any sweep and recorded no fingerprint, contention or provenance:
    # NULL / '{}' say exactly that ("not recorded", never "not contended"); their items were all generated in
    # process, so their tokens were counted from the generated ids.
    db.executescript(
        """
        ALTER TABLE sessions ADD COLUMN sweep_id TEXT;
        ALTER TABLE sessions ADD COLUMN sweep_key TEXT;
        ALTER TABLE sessions ADD COLUMN fingerprint TEXT;
        ALTER TABLE sessions ADD COLUMN fingerprint_json TEXT NOT NULL DEFAULT '{}';
        CREATE INDEX sessions_sweep ON sessions (sweep_id, sweep_key);
        ALTER TABLE items ADD COLUMN tokens_counted_by TEXT;
        UPDATE items SET tokens_counted_by = 'generated ids' WHERE ended_mono_s IS NOT NULL;
        CREATE TABLE sweeps (
            name                TEXT PRIMARY KEY,
            definition_json     TEXT NOT NULL,
            plan_json           TEXT NOT NULL DEFAULT '[]',
            created_unix_s      REAL NOT NULL,
            updated_unix_s      REAL NOT NULL
        );
        ALTER TABLE sessions ADD COLUMN idle_contention_share REAL;
        ALTER TABLE sessions ADD COLUMN idle_contended INTEGER;
        ALTER TABLE sessions ADD COLUMN sampling_rate_hz REAL;
        ALTER TABLE sessions ADD COLUMN measurement_method TEXT;
        ALTER TABLE sessions ADD COLUMN contended_windows INTEGER;
        ALTER TABLE sessions ADD COLUMN other_cpu_share REAL;
        UPDATE sessions SET sampling_rate_hz = json_extract(measurements_json, '$.sample_rate_hz')
            WHERE json_valid(measurements_json);
        ALTER TABLE runs ADD COLUMN provenance TEXT;
        ALTER TABLE items ADD COLUMN measurement_method TEXT;
        ALTER TABLE items ADD COLUMN energy_scope TEXT;
        ALTER TABLE items ADD COLUMN joules_machine REAL;
        ALTER TABLE items ADD COLUMN contention_share REAL;
        ALTER TABLE items ADD COLUMN contended INTEGER;
        ALTER TABLE items ADD COLUMN gpu_other_processes INTEGER;
        ALTER TABLE items ADD COLUMN gpu_temperature_c REAL;
        ALTER TABLE items ADD COLUMN score_detail TEXT;
        """
    )


# MIGRATIONS[n] upgrades a database from version n to n + 1. Forward only: there is no way down.
MIGRATIONS: dict[int, Callable[[Database], None]] = {1: _v1_to_v2, 2: _v2_to_v3}


def check_version(identity: Identity, path: object) -> None:
    """Refuse a schema newer than this code knows."""
    if identity.user_version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{path} was written by a newer greentui (schema v{identity.user_version}; this version reads up "
            f"to v{SCHEMA_VERSION}): upgrade greentui to open it"
        )


@cache
def expected_columns() -> dict[str, frozenset[str]]:
    """Each table of the current schema and its columns (from ``schema.sql``, built once in memory)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(schema_sql())
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: frozenset(row[1] for row in conn.execute(f"PRAGMA table_info({t!r})")) for t in tables}
    finally:
        conn.close()


def check_columns(db: Database, path: object) -> None:
    """Refuse a file that says it has the current schema but lacks part of it (a development build wrote it, or
    someone altered it): reading it would fail later, item by item, with a less helpful message."""
    for table, columns in expected_columns().items():
        found = {row[1] for row in db.execute(f"PRAGMA table_info({table!r})")}
        missing = sorted(columns - found)
        if missing:
            what = f"the {table} table" if found else "a table"
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            raise StoreVersionError(
                f"{path} says schema v{SCHEMA_VERSION} but {what} lacks {shown if found else table}: it was not "
                f"written by this greentui; open it with the build that wrote it, or use another --db"
            )


def ensure_current(db: Database, path: object) -> int:
    """Create or upgrade the schema inside one immediate transaction; return the version found before.

    The identity is read again after the write lock is taken: another process may have created or migrated
    the file in between, and then there is nothing left to do.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        identity = read_identity(db)
        check_version(identity, path)
        found = identity.user_version
        if identity.is_empty:
            _create(db)
        elif found < SCHEMA_VERSION:
            for version in range(found, SCHEMA_VERSION):
                step = MIGRATIONS.get(version)
                if step is None:
                    raise StoreVersionError(f"{path} has schema v{version}, which no greentui release can upgrade")
                step(db)
            _set_version(db, SCHEMA_VERSION)
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    return found
