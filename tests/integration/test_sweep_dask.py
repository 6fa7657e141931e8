"""The Dask executor on a LocalCluster bound to 127.0.0.1 (no dashboard): the same sessions as the local executor,
no socket off loopback, and a worker killed mid-session leaves its session interrupted, resumed by the next run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from greentui.core.measure.fingerprint import hardware_fingerprint
from greentui.core.run.sweep import expand, load_sweep
from greentui.store import SessionStore
from greentui.store.sweeps import sessions_by_key
from greentui.sweeps.cluster import ClusterError, DaskExecutor, parse_cluster
from greentui.sweeps.driver import run_sweep
from greentui.sweeps.local import LocalExecutor
from tests.helpers.sweeps import sweep_sessions, write_sweep

pytest.importorskip("distributed")

LOOPBACK = "127.0.0.1"


class SocketWatch:
    """Samples every inet socket of this process tree (psutil) while a sweep runs."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str | None, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            me = psutil.Process()
            for process in [me, *me.children(recursive=True)]:
                try:
                    connections = process.net_connections(kind="inet")
                except psutil.Error:
                    continue
                for c in connections:
                    self.seen.add((c.laddr.ip, c.raddr.ip if c.raddr else None, c.status))
            self._stop.wait(0.1)

    def __enter__(self) -> SocketWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(db: Path, sweep_file: Path, executor_factory):
    sweep = load_sweep(sweep_file)
    store = SessionStore(db)
    executor = executor_factory(store)
    try:
        return run_sweep(store, sweep, expand(sweep), executor)
    finally:
        executor.close()
        store.close()


def test_local_and_a_local_cluster_leave_the_same_sessions_on_loopback_only(tmp_path: Path) -> None:
    sweep_file = write_sweep(tmp_path)
    here = run(tmp_path / "local.db", sweep_file, lambda store: LocalExecutor(store, inline_workers=True))
    with SocketWatch() as watch:
        there = run(tmp_path / "dask.db", sweep_file, lambda store: DaskExecutor(store, "local:2", inline_workers=True))
    assert [r.status for r in here.results] == ["completed"] * 4
    assert sorted(r.status for r in there.results) == ["completed"] * 4
    assert all(r.where.startswith(f"tcp://{LOOPBACK}:") for r in there.results)
    local, dask = (
        sweep_sessions(tmp_path / "local.db", "two-by-two"),
        sweep_sessions(tmp_path / "dask.db", "two-by-two"),
    )
    assert len(dask) == 4 and local.keys() == dask.keys()
    for pair, (status, key, fingerprint, host) in dask.items():
        assert (status, key) == local[pair][:2] and fingerprint and host
    store = SessionStore(tmp_path / "dask.db", readonly=True)
    for summary in store.list_sessions(sweep="two-by-two"):
        assert len(store.samples(summary.id)) > 0  # the power samples came back with the merged session
        assert store.load_session(summary.id).verdict is not None
    store.close()
    tcp = [s for s in watch.seen if s[2] in ("LISTEN", "ESTABLISHED")]
    assert tcp, "the watch saw no socket at all: it would prove nothing"
    assert {s[0] for s in watch.seen} == {LOOPBACK}, watch.seen
    assert {s[1] for s in watch.seen} <= {LOOPBACK, None}, watch.seen


def test_a_worker_killed_mid_session_leaves_it_interrupted_and_the_next_run_resumes_it(tmp_path: Path) -> None:
    sweep_file = write_sweep(tmp_path, name="kill", limit=10, tps=25)  # about 0.2 s per item: time to kill
    db = tmp_path / "dask.db"
    placed: dict[str, int] = {}
    killed: list[tuple[str, int]] = []

    def killer() -> None:
        watcher = SessionStore(db, readonly=True)
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            for key, pid in list(placed.items()):
                record = sessions_by_key(watcher, "kill", [key]).get(key)
                if (
                    record is not None
                    and watcher.runs(record.id).get("A")
                    and watcher.runs(record.id)["A"].items_done >= 2
                ):
                    psutil.Process(pid).kill()
                    killed.append((record.id, pid))
                    break
            time.sleep(0.05)
        watcher.close()

    def on_placed(key: str, worker: str, pid: int | None) -> None:
        if pid is not None and not placed:
            placed[key] = pid
            threading.Thread(target=killer, daemon=True).start()

    first = run(db, sweep_file, lambda store: DaskExecutor(store, "local:2", inline_workers=True, on_placed=on_placed))
    assert killed, "no session was seen running: nothing was killed"
    victim = killed[0][0]
    by_id = {r.session_id: r for r in first.results}
    assert by_id[victim].status == "interrupted" and "was lost mid-session" in by_id[victim].reason
    assert sorted(r.status for r in first.results) == ["completed", "completed", "completed", "interrupted"]
    store = SessionStore(db, readonly=True)
    record = store.get_session(victim)
    assert record.status == "interrupted" and "Dask worker" in record.status_reason
    kept = store.runs(victim)["A"].items_done
    assert 2 <= kept < 10  # the items finished before the kill were streamed to the driver and kept
    store.close()

    second = run(db, sweep_file, lambda store: DaskExecutor(store, "local:2", inline_workers=True))
    assert sorted((r.status, r.step.action) for r in second.results) == [
        ("completed", "resume"),
        *[("skipped", "skip")] * 3,
    ]
    store = SessionStore(db, readonly=True)
    assert store.get_session(victim).status == "completed"
    assert store.runs(victim)["A"].items_done == 10 and store.runs(victim)["B"].items_done == 10
    assert store.load_session(victim).verdict["a"]["n_items"] == 10
    assert {s.status for s in store.list_sessions(sweep="kill")} == {"completed"}
    store.close()


def test_the_cli_runs_a_sweep_on_a_local_cluster_with_real_model_processes(tmp_path: Path) -> None:
    sweep_file = write_sweep(tmp_path, limit=2)
    db = tmp_path / "g.db"
    done = subprocess.run(
        [sys.executable, "-m", "greentui.cli", "--db", str(db), "sweep", str(sweep_file), "--cluster", "local:2"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sum(1 for line in done.stdout.splitlines() if line.startswith("[") and "completed" in line) == 4
    if not hardware_fingerprint()["gpus"]:
        assert "runs 2 sessions at once on one CPU" in done.stdout  # the energy caveat is said
    assert {s[0] for s in sweep_sessions(db, "two-by-two").values()} == {"completed"}


def test_cluster_addresses_are_checked() -> None:
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.5:8786") == ("tcp://10.0.0.5:8786", None)
    for bad in ("local:0", "local:x", "10.0.0.5:8786"):
        with pytest.raises(ClusterError):
            parse_cluster(bad)


def test_a_resource_no_worker_offers_is_refused_before_anything_runs(tmp_path: Path) -> None:
    sweep_file = write_sweep(tmp_path, limit=1)
    with pytest.raises(ClusterError, match=r"no worker of local:1 offers the resource GPU=1 \(workers offer: CPU=1\)"):
        run(tmp_path / "g.db", sweep_file, lambda store: DaskExecutor(store, "local:1", resource="GPU"))
    assert sweep_sessions(tmp_path / "g.db", "two-by-two") == {}
