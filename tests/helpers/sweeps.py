"""Sweep files for tests: 2 candidates x 2 tasks with fake models and a replayed constant power trace."""

from __future__ import annotations

from pathlib import Path

from greentui.store import SessionStore

REFERENCE = "fake:today?tps={tps}&accuracy=0.9&tokens=5"
CANDIDATES = ("fake:small?tps={tps}&accuracy=0.7&tokens=5", "fake:tiny?tps={tps}&accuracy=0.5&tokens=5")


def write_sweep(folder: Path, *, name: str = "two-by-two", limit: int = 4, tps: int = 300, extra: str = "") -> Path:
    """A sweep file (and its power trace) in ``folder``; ``tps`` sets how fast the fake models answer."""
    trace = folder / "constant.csv"
    trace.write_text("t_s,power_w\n0,20\n1,20\n")
    candidates = ", ".join(f'"{c.format(tps=tps)}"' for c in CANDIDATES)
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\n'
        f'reference = "{REFERENCE.format(tps=tps)}"\n'
        f"candidates = [{candidates}]\n"
        'tasks = ["arithmetic", "sentiment"]\n'
        f"limit = {limit}\n"
        "idle_s = 0.0\n"
        "sample_hz = 20.0\n"
        f'power_source = "replay:{trace}"\n' + extra
    )
    return path


def sweep_sessions(db: Path, name: str) -> dict[tuple[str, str], tuple[str, str, str | None, str | None]]:
    """(task, candidate) -> (status, sweep key, fingerprint key, host) of the sweep's sessions in ``db``."""
    store = SessionStore(db, readonly=True)
    try:
        found = {}
        for summary in store.list_sessions(sweep=name):
            record = store.get_session(summary.id)
            found[(record.task_id, record.model_b)] = (
                record.status,
                record.sweep_key or "",
                record.fingerprint_key,
                record.fingerprint.get("host"),
            )
        return found
    finally:
        store.close()
