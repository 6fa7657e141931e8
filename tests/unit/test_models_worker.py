"""ModelWorker as a spawned process: messages, waiting on its pipe, and every way it can die (kill, crash, load
error, load time limit) -- each a WorkerFailed, never an exception, never an orphan process."""

from __future__ import annotations

import os
import signal
import time
from multiprocessing.connection import wait
from pathlib import Path

import psutil
import pytest

from greentui.core.models.protocol import Generated, GenerateRequest, Loaded, LoadProgress, Token, WorkerFailed
from greentui.core.models.spec import ModelSpec
from greentui.core.models.worker import ModelWorker, exit_failure
from greentui.core.records import Prompt

PROMPT = Prompt(({"role": "user", "content": "Name a colour."},), "Name a colour.")


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENTUI_CACHE_DIR", str(tmp_path / "cache"))


def _wait_loaded(worker: ModelWorker, timeout_s: float = 30) -> Loaded | WorkerFailed:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = worker.poll(1.0)
        if isinstance(message, (Loaded, WorkerFailed)):
            return message
    raise AssertionError("worker neither loaded nor failed")


def _assert_gone(pid: int | None) -> None:
    assert pid is not None
    assert pid not in [child.pid for child in psutil.Process().children(recursive=True)]
    if psutil.pid_exists(pid):  # a reused pid would be some other process, never our zombie
        assert psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def test_spawned_worker_answers_and_stops_cleanly(tmp_path: Path) -> None:
    worker = ModelWorker("A", ModelSpec.parse("fake:oracle?tps=1000&tokens=4"))
    worker.start()
    pid = worker.pid
    assert pid is not None and pid != os.getpid() and worker.alive
    loaded = _wait_loaded(worker)
    assert isinstance(loaded, Loaded) and worker.info == loaded.info
    assert worker.log_path is not None and worker.log_path.parent == tmp_path / "cache" / "logs"
    worker.generate(GenerateRequest("q1", PROMPT, 16, hint="blue"))
    seen: list[object] = []
    while not isinstance(message := worker.poll(5), Generated):
        assert isinstance(message, Token)
        seen.append(message)
    assert message.text == "blue" and len(seen) == 4
    assert message.peak_rss_bytes is not None and message.peak_rss_bytes > 0
    worker.stop()
    assert not worker.alive
    _assert_gone(pid)
    worker.stop()  # twice is fine


def test_two_workers_with_connection_wait() -> None:
    workers = [ModelWorker(side, ModelSpec.parse("fake:o?tps=500&tokens=3")) for side in ("A", "B")]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            assert isinstance(_wait_loaded(worker), Loaded)
        for worker in workers:
            worker.generate(GenerateRequest(f"item-{worker.side}", PROMPT, 8, hint=f"answer {worker.side}"))
        done: dict[str, Generated] = {}
        while len(done) < 2:
            ready = wait([w.connection() for w in workers if w.side not in done], timeout=5)  # type: ignore[misc]
            assert ready, "no worker spoke within 5 s"
            for worker in workers:
                if worker.connection() in ready and isinstance(message := worker.poll(0), Generated):
                    done[worker.side] = message
        assert done["A"].text == "answer A" and done["B"].text == "answer B"
    finally:
        for worker in workers:
            worker.stop()


def test_sigkill_mid_generation_is_reported_and_leaves_no_orphan() -> None:
    worker = ModelWorker("B", ModelSpec.parse("fake:slow?tps=20&tokens=200&ttft_s=0"))
    worker.start()
    assert isinstance(_wait_loaded(worker), Loaded)
    worker.generate(GenerateRequest("long", PROMPT, 256, hint="word " * 200))
    assert isinstance(worker.poll(5), Token)  # mid-item
    pid = worker.pid
    os.kill(pid, signal.SIGKILL)  # type: ignore[arg-type]
    message = worker.poll(5)
    while isinstance(message, Token):
        message = worker.poll(5)
    # another process's kill -9 is not blamed on memory: the worker was far from any limit
    assert message == WorkerFailed("killed", "killed by SIGKILL (signal 9)", message.detail)  # type: ignore
    assert worker.poll(0) is message and worker.connection() is None and not worker.alive
    _assert_gone(pid)
    worker.generate(GenerateRequest("after", PROMPT, 8))  # harmless on a dead worker
    worker.stop()


def test_exception_at_load_is_a_load_failure() -> None:
    worker = ModelWorker("A", ModelSpec.parse("fake:broken?fail_load=checkpoint%20is%20truncated"))
    worker.start()
    pid = worker.pid
    failed = _wait_loaded(worker)
    assert isinstance(failed, WorkerFailed)
    assert (failed.failure, failed.reason) == ("load", "checkpoint is truncated")
    assert "Traceback" in failed.detail
    _assert_gone(pid)


def test_load_time_limit_kills_the_worker() -> None:
    worker = ModelWorker("A", ModelSpec.parse("fake:stuck?hang_load=1"), load_timeout_s=1.0)
    worker.start()
    pid = worker.pid
    messages = []
    while not isinstance(message := worker.poll(None), WorkerFailed):
        messages.append(message)
    assert all(isinstance(m, LoadProgress) for m in messages)
    assert message.failure == "timeout" and "1 s" in message.reason
    _assert_gone(pid)


def test_process_exit_and_crash_inside_the_worker() -> None:
    worker = ModelWorker("A", ModelSpec.parse("fake:x?tps=1000&exit_after=0"))
    worker.start()
    assert isinstance(_wait_loaded(worker), Loaded)
    worker.generate(GenerateRequest("q", PROMPT, 8, hint="a b c d"))
    while not isinstance(message := worker.poll(5), WorkerFailed):
        assert isinstance(message, Token)
    assert message.failure == "crash" and "exit code 3" in message.reason
    worker.stop()


def test_exit_failure_mapping() -> None:
    assert exit_failure(-9) == WorkerFailed("killed", "killed by SIGKILL (signal 9)", "")
    oom = exit_failure(-9, memory_hint="it used 7.6 GiB of a 8.0 GiB limit")
    assert oom.reason == "killed by SIGKILL (signal 9); out of memory? (it used 7.6 GiB of a 8.0 GiB limit)"
    assert exit_failure(-11).failure == "crash" and "SIGSEGV" in exit_failure(-11).reason
    assert exit_failure(-15) == WorkerFailed("killed", "killed by SIGTERM (signal 15)", "")
    failed = exit_failure(1, "loading...\nRuntimeError: bad things\n")
    assert failed.failure == "crash" and failed.reason.endswith("RuntimeError: bad things")


def test_garbage_collected_worker_is_stopped() -> None:
    worker = ModelWorker("A", ModelSpec.parse("fake:o"))
    worker.start()
    assert isinstance(_wait_loaded(worker), Loaded)
    process = psutil.Process(worker.pid)
    del worker  # weakref.finalize stops it
    process.wait(timeout=5)
    assert not process.is_running()


def test_a_standby_worker_imports_first_and_loads_the_model_it_is_given(tmp_path: Path) -> None:
    from greentui.core.models import standby as standby_module
    from greentui.core.models import worker as worker_module
    from tests.helpers.tiny_models import build_tiny_llama

    folder = build_tiny_llama(tmp_path / "tiny-llama")
    worker_module.stop_standby()
    try:
        assert worker_module.prewarm_for(["fake:a", "fake:b?tps=5"]) == 0  # fake models import nothing heavy
        assert worker_module.prewarm_for(["openai:http://127.0.0.1:1/v1?model=m", "ollama:x"]) == 0  # served: no torch
        assert worker_module.prewarm_for([f"{folder}@fp32", "fake:b"]) == 1
        assert worker_module.standby_count(ready_only=True, wait_s=240) == 1  # torch imported in the child
        standby_pid = standby_module._standby[0].process.pid
        fake = ModelWorker("B", ModelSpec.parse("fake:oracle?tps=1000&tokens=2"))
        fake.start()
        assert fake.pid != standby_pid and worker_module.standby_count() == 1  # a fake model spawns its own
        real = ModelWorker("A", ModelSpec.parse(f"{folder}@fp32"))
        real.start()
        assert real.pid == standby_pid and worker_module.standby_count() == 0
        loaded = _wait_loaded(real, timeout_s=120)
        assert isinstance(loaded, Loaded) and loaded.info.params_total > 0
        real.generate(GenerateRequest("q1", PROMPT, 3))
        while not isinstance(message := real.poll(30), (Generated, WorkerFailed)):
            assert isinstance(message, (Token, type(None)))
        assert isinstance(message, Generated) and message.tokens_out >= 1
        assert real.log_path is not None and real.log_path.is_file()  # its output went to this worker's log
        for worker in (real, fake):
            worker.stop()
        _assert_gone(standby_pid)
        # a standby worker nobody takes goes away when stopped, without a trace
        worker_module.prewarm(1)
        leftover = standby_module._standby[0].process.pid
        worker_module.stop_standby()
        _assert_gone(leftover)
    finally:
        worker_module.stop_standby()


def test_each_session_and_side_logs_to_its_own_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from greentui.core.models import standby as standby_module

    monkeypatch.setattr(standby_module, "cache_dir", lambda: tmp_path)
    spec = ModelSpec.parse("fake:echo")
    first = ModelWorker("A", spec, session_id="s1")
    assert first.log_path == tmp_path / "logs" / "worker-s1-A.log"
    assert ModelWorker("B", spec, session_id="s1").log_path != first.log_path
    assert ModelWorker("A", spec, session_id="s2").log_path != first.log_path
    # without a session id (a worker of its own), two workers of one side still never share a file
    assert ModelWorker("A", spec).log_path != ModelWorker("A", spec).log_path


def test_old_worker_logs_are_pruned_to_the_newest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from greentui.core.models import standby as standby_module
    from greentui.core.models import worker as worker_module

    monkeypatch.setattr(standby_module, "cache_dir", lambda: tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    for n in range(worker_module.KEEP_LOGS + 5):
        path = logs / f"worker-old{n}-A.log"
        path.write_text("x")
        os.utime(path, (1000 + n, 1000 + n))
    worker_module.worker_log_path("new-A")
    kept = sorted(p.name for p in logs.glob("worker-*.log"))
    assert len(kept) == worker_module.KEEP_LOGS
    assert "worker-old0-A.log" not in kept and f"worker-old{worker_module.KEEP_LOGS + 4}-A.log" in kept
