"""Standby model workers and the workers' log files: the process pool behind :func:`prewarm`.

Importing torch and transformers takes seconds, more than loading a small model from greentui's cache, so the CLI
and the setup screen start up to two worker processes before the models are chosen;
:meth:`~greentui.core.models.worker.ModelWorker.start` takes one (:func:`take_standby`) instead of spawning. Split
from :mod:`greentui.core.models.worker`, which re-exports the public names. :func:`shutdown` is how every worker
process ends (ask, terminate, kill; always join).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from greentui.core.models.hf_gguf_cache import cache_dir
from greentui.core.models.protocol import Standby, StopRequest
from greentui.core.models.runner import process_main
from greentui.core.models.spec import ModelSpec

__all__ = [
    "KEEP_LOGS",
    "StandbyProcess",
    "prewarm",
    "prewarm_for",
    "shutdown",
    "standby_count",
    "stop_standby",
    "take_standby",
    "worker_log_path",
]


def shutdown(
    process: BaseProcess | None,
    thread: threading.Thread | None,
    conn: Connection | None,
    cancel: threading.Event,
    timeout_s: float,
) -> None:
    """Stop a worker: ask, then terminate, then kill; always join. Used by stop(), weakref.finalize and atexit."""
    cancel.set()
    if conn is not None:
        try:
            conn.send(StopRequest())
        except (OSError, ValueError):
            pass
    if process is not None:
        process.join(timeout_s)
        if process.is_alive():
            process.terminate()
            process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join(2.0)
    if thread is not None:
        thread.join(timeout_s)
    if conn is not None:
        conn.close()


@dataclass
class StandbyProcess:
    """A spawned worker process that imported its libraries and waits for a model (see :func:`prewarm`)."""

    process: BaseProcess
    conn: Connection
    started_mono_s: float
    ready_mono_s: float | None = None


_standby: list[StandbyProcess] = []
_standby_lock = threading.Lock()


KEEP_LOGS = 60  # worker logs kept in <cache>/logs (two per session): the newest ones, older ones are removed


def worker_log_path(name: str) -> Path:
    """``<cache>/logs/worker-<name>.log``, pruning the folder to the newest :data:`KEEP_LOGS` logs first."""
    folder = cache_dir() / "logs"
    try:
        logs = sorted(folder.glob("worker-*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in logs[KEEP_LOGS:]:
            old.unlink(missing_ok=True)
    except OSError:  # a log that vanished meanwhile, or a folder not there yet: nothing to prune
        pass
    return folder / f"worker-{name}.log"


def prewarm(count: int = 2) -> int:
    """Start standby worker processes until ``count`` are waiting (each imports torch and transformers, then waits
    for its model); returns how many were started now. Safe from any thread; never raises (a worker that cannot
    be started is simply not there, and a later start spawns as before)."""
    started = 0
    with _standby_lock:
        _standby[:] = [s for s in _standby if s.process.is_alive()]
        while len(_standby) < count:
            try:
                context = multiprocessing.get_context("spawn")
                parent_end, child_end = context.Pipe(duplex=True)
                log = worker_log_path(f"standby-{os.getpid()}-{len(_standby)}")
                process = context.Process(
                    target=process_main, args=(child_end, None, False, str(log)), name="greentui-standby", daemon=True
                )
                process.start()
                child_end.close()
            except (OSError, RuntimeError):
                break
            _standby.append(StandbyProcess(process, parent_end, time.monotonic()))
            started += 1
    return started


def prewarm_for(specs: list[str]) -> int:
    """:func:`prewarm` one standby worker per in-process model among ``specs`` (spec texts; one that does not
    parse counts as one: the session will say what is wrong with it). Fake and served models import no torch, so
    they get none. Returns how many were started."""
    from greentui.core.models.spec import SpecError

    real = 0
    for text in specs:
        try:
            spec = ModelSpec.parse(text)
            real += not (spec.is_fake or spec.is_served)
        except SpecError:
            real += 1
    return prewarm(real) if real else 0


def standby_count(*, ready_only: bool = False, wait_s: float = 0.0) -> int:
    """How many standby workers wait; ``ready_only``: only those whose imports are done (waiting up to
    ``wait_s`` for the rest to say so)."""
    deadline = time.monotonic() + wait_s
    with _standby_lock:
        for standby in _standby:
            while standby.ready_mono_s is None and standby.process.is_alive():
                try:
                    if not standby.conn.poll(max(0.0, deadline - time.monotonic())):
                        break
                    message = standby.conn.recv()
                except (EOFError, OSError):
                    break
                if isinstance(message, Standby):
                    standby.ready_mono_s = message.t_mono_s
        alive = [s for s in _standby if s.process.is_alive()]
        return sum(1 for s in alive if s.ready_mono_s is not None or not ready_only)


def take_standby() -> StandbyProcess | None:
    with _standby_lock:
        while _standby:
            standby = _standby.pop(0)
            if standby.process.is_alive():
                return standby
            standby.conn.close()
    return None


def stop_standby() -> None:
    """Stop every standby worker (tests, and a TUI that will race only fake models)."""
    with _standby_lock:
        taken, _standby[:] = list(_standby), []
    for standby in taken:
        shutdown(standby.process, None, standby.conn, threading.Event(), 1.0)
