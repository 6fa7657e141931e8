"""The Dask executor on a LocalCluster bound to 127.0.0.1 (no dashboard): the same sessions as the local executor,
no socket off loopback, and a worker killed mid-session leaves its session interrupted, resumed by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from greentui.core.measure.fingerprint import hardware_fingerprint
from greentui.core.run.sweep import expand, load_sweep
from greentui.store import SessionStore, StoreError
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
    gpus = len(hardware_fingerprint()["gpus"])
    if not gpus:
        assert "runs 2 sessions at once on one CPU" in done.stdout  # the energy caveat is said
    elif gpus == 1:
        assert "without a GPU that run only sessions whose models are on the CPU" in done.stdout
    assert "distributed." not in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr
    assert {s[0] for s in sweep_sessions(db, "two-by-two").values()} == {"completed"}


def test_cluster_addresses_are_checked() -> None:
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.5:8786") == ("tcp://10.0.0.5:8786", None)
    for bad in ("local:0", "local:x", "10.0.0.5:8786"):
        with pytest.raises(ClusterError):
            parse_cluster(bad)


def test_a_resource_no_worker_offers_is_refused_before_anything_runs(tmp_path: Path) -> None:
    sweep_file = write_sweep(tmp_path, limit=1)
    with pytest.raises(
        ClusterError, match=r"no worker of local:1 offers the resource FPGA=1 \(workers offer: [^)]*CPU=1"
    ):
        run(tmp_path / "g.db", sweep_file, lambda store: DaskExecutor(store, "local:1", resource="FPGA"))
    assert sweep_sessions(tmp_path / "g.db", "two-by-two") == {}


@pytest.fixture()
def one_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as the driver sees it with one NVIDIA GPU (as on a one-GPU cloud box)."""
    from greentui.core.measure import fingerprint

    real = fingerprint.hardware_fingerprint

    def with_one_gpu(**kwargs: object) -> dict:
        return {**real(**kwargs), "gpus": [{"device": "gpu0", "name": "FAKE H100", "power_limit_w": 700.0}]}

    monkeypatch.setattr(fingerprint, "hardware_fingerprint", with_one_gpu)


def test_local_2_on_one_gpu_gives_the_gpu_to_one_worker_and_cpu_sessions_to_both(tmp_path: Path, one_gpu: None) -> None:
    sweep_file = write_sweep(tmp_path, name="one-gpu")
    executors: list[DaskExecutor] = []
    resources: list[dict] = []

    def factory(store: SessionStore) -> DaskExecutor:
        executor = DaskExecutor(store, "local:2", inline_workers=True)
        executor.open()
        info = executor._client.scheduler_info()["workers"].values()
        resources.extend(sorted((w.get("resources") or {}).items()) for w in info)
        executors.append(executor)
        return executor

    done = run(tmp_path / "g.db", sweep_file, factory)
    # the GPU worker sees only its card; the other sees none and takes only sessions on the CPU
    assert sorted(resources) == [[("CPU", 1)], [("CPU", 1), ("GPU", 1)]]
    assert any("1 worker(s) with a GPU each, and 1 without a GPU" in note for note in executors[0].notes)
    assert sorted(r.status for r in done.results) == ["completed"] * 4  # fake models: CPU sessions, both workers
    assert len({r.where for r in done.results}) == 2

    # a session that needs the GPU never shares it: every one of them runs on the one GPU worker
    gpu_only = run(
        tmp_path / "gpu.db",
        sweep_file,
        lambda store: DaskExecutor(store, "local:2", inline_workers=True, resource="GPU"),
    )
    assert sorted(r.status for r in gpu_only.results) == ["completed"] * 4
    assert len({r.where for r in gpu_only.results}) == 1


def test_a_session_error_on_a_worker_is_reported_as_what_it_is(tmp_path: Path) -> None:
    # a power source that cannot work on this machine is found only when the session starts, on the worker
    sweep_file = write_sweep(tmp_path, name="no-nvml", limit=1)
    text = sweep_file.read_text().replace('power_source = "replay:', 'power_source = "rapl"\n# "replay:')
    sweep_file.write_text(text)
    from greentui.core.measure.power import probe_source

    if probe_source("rapl")[0] is not None:
        pytest.skip("RAPL works on this machine")
    done = run(tmp_path / "g.db", sweep_file, lambda store: DaskExecutor(store, "local:1", inline_workers=True))
    assert {r.status for r in done.results} == {"not started"}
    assert all(r.reason.startswith("power source rapl:") and "lost" not in r.reason for r in done.results)
    local = run(tmp_path / "l.db", sweep_file, lambda store: LocalExecutor(store, inline_workers=True))
    assert [r.reason for r in local.results] == [r.reason for r in done.results]


CTRL_C_AS_IN_A_TERMINAL = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('greentui.cli', run_name='__main__', alter_sys=True)"
)


def wait_for_a_running_session(db: Path, sweep: str, process: subprocess.Popen[str]) -> str:
    """The id of the sweep's session once it has two finished items on side A (polling the driver's store)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        try:
            with SessionStore(db, readonly=True) as store:
                for summary in store.list_sessions(sweep=sweep):
                    lanes = store.runs(summary.id)
                    if lanes.get("A") and lanes["A"].items_done >= 2:
                        return summary.id
        except StoreError:  # not created yet
            continue
    raise AssertionError("no session was seen running")


def test_ctrl_c_stops_a_dask_sweep_keeping_the_finished_items_and_the_next_run_resumes(tmp_path: Path) -> None:
    sweep_file = write_sweep(tmp_path, name="stop", limit=8, tps=10)  # about 0.5 s per item
    db = tmp_path / "g.db"
    command = [sys.executable, "-m", "greentui.cli", "--db", str(db), "sweep", str(sweep_file), "--cluster", "local:1"]
    env = {**os.environ, "COLUMNS": "200"}
    # Ctrl-C as in a terminal: a suite started in the background by a shell without job control (`cmd &` in a
    # script) hands its children SIGINT ignored, and Python then keeps it ignored, as it should for such a job
    interactive = [sys.executable, "-c", CTRL_C_AS_IN_A_TERMINAL, *command[3:]]
    process = subprocess.Popen(interactive, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        running = wait_for_a_running_session(db, "stop", process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err and "distributed." not in out + err, out + err
    with SessionStore(db, readonly=True) as store:
        record = store.get_session(running)
        kept = store.runs(running)["A"].items_done
        assert record.status == "interrupted" and 2 <= kept < 8, out
        assert {s.id for s in store.list_sessions(sweep="stop")} == {running}  # nothing else started
    again = subprocess.run([*command[:-1], "local:2"], capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    with SessionStore(db, readonly=True) as store:
        assert store.get_session(running).status == "completed"
        assert store.runs(running)["A"].items_done == 8
        assert {s.status for s in store.list_sessions(sweep="stop")} == {"completed"}
