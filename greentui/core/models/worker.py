"""The parent-side handle of one model worker: a spawned process (or, for tests, a thread) that owns one model.

Why a process: an OOM, a crash or a kill in one lane must not take the session down; inference must not fight the
UI for the GIL; and when a process ends, all its memory (GPU memory included) goes back. The start method is
"spawn" (a fork of a threaded parent that already imported torch is unsafe).

Usage (the session engine)::

    worker = ModelWorker("A", ModelSpec.parse("smollm2-135m@bf16"), load_timeout_s=600)
    worker.start()
    while not isinstance(message := worker.poll(1.0), (Loaded, WorkerFailed)): ...   # LoadProgress meanwhile
    worker.generate(GenerateRequest("item-1", prompt, max_new_tokens=64))
    while not isinstance(message := worker.poll(1.0), (Generated, WorkerFailed)): ... # Token meanwhile
    worker.stop()

Standby workers (:func:`prewarm`): importing torch and transformers takes seconds, more than loading a small model
from greentui's cache. The CLI and the setup screen therefore start up to two worker processes before the models
are even chosen; :meth:`ModelWorker.start` hands a standby process its model (a :class:`LoadRequest`) instead of
spawning a new one, so the user waits only for the load itself. Fake and inline workers never use them.

:meth:`ModelWorker.poll` never raises on a dead worker: it returns :class:`WorkerFailed` ("killed" for a signal,
"killed by SIGKILL (signal 9)"; SIGKILL is also what the kernel's OOM killer sends, so it adds "out of memory?"
when the evidence points there (see memory_watch.py), "crash", "oom", "timeout" when the load outlives its limit,
"load"/"unavailable" for load errors), and keeps returning that same failure.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import uuid
import weakref
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from greentui.core.models.memory_watch import MemoryWatch
from greentui.core.models.protocol import (
    Generated,
    GenerateRequest,
    Loaded,
    LoadProgress,
    LoadRequest,
    ModelInfo,
    Standby,
    Token,
    WorkerFailed,
    WorkerMessage,
)
from greentui.core.models.runner import process_main, serve
from greentui.core.models.spec import ModelSpec
from greentui.core.models.standby import (
    KEEP_LOGS,
    prewarm,
    prewarm_for,
    shutdown,
    standby_count,
    stop_standby,
    take_standby,
    worker_log_path,
)
from greentui.core.records import Side

__all__ = [
    "KEEP_LOGS",
    "GenerateRequest",
    "Generated",
    "LoadProgress",
    "Loaded",
    "ModelInfo",
    "ModelWorker",
    "Token",
    "WorkerFailed",
    "WorkerMessage",
    "exit_failure",
    "prewarm",
    "prewarm_for",
    "standby_count",
    "stop_standby",
    "worker_log_path",
]

_SIGKILL = getattr(signal, "SIGKILL", 9)
_CRASH_SIGNALS = {
    getattr(signal, name) for name in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGFPE", "SIGILL") if hasattr(signal, name)
}


def exit_failure(exitcode: int | None, log_tail: str = "", memory_hint: str | None = None) -> WorkerFailed:
    """The failure for a worker process that ended without saying why (multiprocessing's exitcode: -N = signal N).

    ``memory_hint`` says why a SIGKILL looks like the OOM killer's (None: nothing points to memory)."""
    detail = log_tail
    if exitcode is None:
        return WorkerFailed("crash", "worker stopped answering", detail)
    if exitcode < 0:
        number = -exitcode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == _SIGKILL and memory_hint:
            # The kernel's OOM killer sends SIGKILL too; the exit status alone cannot tell the two apart.
            return WorkerFailed("killed", f"killed by SIGKILL (signal 9); out of memory? ({memory_hint})", detail)
        if number in _CRASH_SIGNALS:
            return WorkerFailed("crash", f"crashed ({name}, signal {number})", detail)
        return WorkerFailed("killed", f"killed by {name} (signal {number})", detail)
    last = next((line.strip() for line in reversed(log_tail.splitlines()) if line.strip()), "")
    suffix = f": {last[:200]}" if last else ""
    return WorkerFailed("crash", f"worker exited unexpectedly (exit code {exitcode}){suffix}", detail)


def _read_tail(path: Path | None, limit: int = 4000) -> str:
    if path is None:
        return ""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


class ModelWorker:
    """One model in its own process (``inline=False``) or thread (``inline=True``: fake models in fast tests;
    a real model inline shares the caller's GIL and memory)."""

    def __init__(
        self,
        side: Side,
        spec: ModelSpec,
        *,
        load_timeout_s: float = 600,
        trust_remote_code: bool = False,
        inline: bool = False,
        session_id: str | None = None,
    ) -> None:
        """``session_id`` names the worker's log file (``<cache>/logs/<session>-<side>.log``), so two sessions, in
        one process or in two, never write to the same log."""
        self.side = side
        self.spec = spec
        self.load_timeout_s = load_timeout_s
        self.trust_remote_code = trust_remote_code
        self.inline = inline
        self.info: ModelInfo | None = None  # set when Loaded arrives
        tag = session_id or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.log_path: Path | None = None if inline else worker_log_path(f"{tag}-{side}")
        self._conn: Connection | None = None
        self._process: BaseProcess | None = None
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._started_mono_s: float | None = None
        self._loaded = False
        self._failure: WorkerFailed | None = None
        self._stopped = False
        self._inline_exit: list[int] = []
        self._memory: MemoryWatch | None = None  # evidence for "out of memory?" (a process worker only)
        self._finalizer: weakref.finalize[..., ModelWorker] | None = None

    # ----------------------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def alive(self) -> bool:
        if self._process is not None:
            return bool(self._process.is_alive())
        return self._thread is not None and self._thread.is_alive()

    @property
    def loaded(self) -> bool:
        return self._loaded and self._failure is None

    @property
    def failure(self) -> WorkerFailed | None:
        return self._failure

    def connection(self) -> Connection | None:
        """The pipe to wait on with ``multiprocessing.connection.wait`` (None before start and after a failure
        or stop). It becomes readable on every message and when the worker dies."""
        return None if self._failure is not None or self._stopped else self._conn

    # ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._conn is not None:
            raise RuntimeError("worker already started")
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe(duplex=True)
        self._conn = parent_end
        self._started_mono_s = time.monotonic()
        if self.inline:
            # The thread gets locals only, so it keeps no reference to this handle (the finalizer can run).
            exits, cancel, text, trust = self._inline_exit, self._cancel, str(self.spec), self.trust_remote_code

            def run() -> None:
                serve(
                    child_end,
                    text,
                    trust_remote_code=trust,
                    cancel=cancel,
                    on_parent_gone=lambda: None,
                    on_exit=exits.append,
                    close_when_done=True,
                )

            self._thread = threading.Thread(target=run, name=f"greentui-model-{self.side}", daemon=True)
            self._thread.start()
        elif not (self.spec.is_fake or self.spec.is_served) and (standby := take_standby()) is not None:
            self._process, self._conn = standby.process, standby.conn
            child_end.close()
            parent_end.close()
            parent_end = standby.conn
            log = str(self.log_path) if self.log_path else None
            try:
                standby.conn.send(LoadRequest(str(self.spec), self.trust_remote_code, log))
            except (OSError, ValueError):
                pass  # it died meanwhile: the first poll() reports how
        else:
            log = str(self.log_path) if self.log_path else None
            self._process = context.Process(
                target=process_main,
                args=(child_end, str(self.spec), self.trust_remote_code, log),
                name=f"greentui-model-{self.side}",
                daemon=True,
            )
            self._process.start()
            child_end.close()  # only the child holds its end: its death then reads as EOF here
        if self._process is not None and self._process.pid is not None:
            self._memory = MemoryWatch.start(self._process.pid)
        # Runs at garbage collection and at interpreter exit (atexit), whichever comes first.
        self._finalizer = weakref.finalize(self, shutdown, self._process, self._thread, parent_end, self._cancel, 1.0)

    def generate(self, request: GenerateRequest) -> None:
        """Queue one request. A dead worker is not an error here: the next poll() reports why it died."""
        if self._conn is None:
            raise RuntimeError("worker not started")
        if self._failure is not None or self._stopped:
            return
        try:
            self._conn.send(request)
        except (OSError, ValueError):
            pass

    def poll(self, timeout_s: float | None) -> WorkerMessage | None:
        """The next message, waiting up to ``timeout_s`` (None: until one comes); None if none came in time.

        Once the worker has failed, every call returns the same WorkerFailed at once."""
        if self._failure is not None:
            return self._failure
        if self._conn is None:
            raise RuntimeError("worker not started")
        if self._stopped:
            return None
        if self._memory is not None:
            self._memory.sample()
        wait_s = timeout_s
        if not self._loaded:
            remaining = self._load_deadline() - time.monotonic()
            if remaining <= 0:
                return self._fail(WorkerFailed("timeout", f"loading took longer than {self.load_timeout_s:g} s"))
            wait_s = remaining if wait_s is None else min(wait_s, remaining)
        try:
            ready = self._conn.poll(wait_s)
        except (OSError, EOFError):
            ready = True
        if not ready:
            if not self._loaded and time.monotonic() >= self._load_deadline():
                return self._fail(WorkerFailed("timeout", f"loading took longer than {self.load_timeout_s:g} s"))
            return None
        try:
            message: WorkerMessage = self._conn.recv()
        except (EOFError, OSError):
            return self._fail(self._death())
        if isinstance(message, Standby):  # a standby process saying its imports are done: nothing to report
            return None
        if isinstance(message, Loaded):
            self._loaded = True
            self.info = message.info
        elif isinstance(message, WorkerFailed):
            return self._fail(message)
        return message

    def stop(self, timeout_s: float = 5) -> None:
        """Stop the worker: ask (an in-flight generation is cancelled), then terminate, then kill; join.
        Safe to call more than once and after a failure."""
        if self._finalizer is not None and self._finalizer.alive:
            self._finalizer.detach()
            shutdown(self._process, self._thread, self._conn, self._cancel, timeout_s)
        self._stopped = True

    # ----------------------------------------------------------------------------------------------
    def _load_deadline(self) -> float:
        return (self._started_mono_s or time.monotonic()) + self.load_timeout_s

    def _death(self) -> WorkerFailed:
        """Why the worker ended without a message."""
        if self._process is not None:
            self._process.join(5.0)
            if self._process.is_alive():  # closed its pipe but lingers: finish it
                self._process.kill()
                self._process.join(2.0)
            hint = self._memory.out_of_memory_hint() if self._memory is not None else None
            return exit_failure(self._process.exitcode, _read_tail(self.log_path), hint)
        if self._thread is not None:
            self._thread.join(1.0)
        code = self._inline_exit[0] if self._inline_exit else 0
        return exit_failure(code)

    def _fail(self, failure: WorkerFailed) -> WorkerFailed:
        """Record the terminal failure and make sure nothing of the worker is left running."""
        self._failure = failure
        if self._finalizer is not None and self._finalizer.alive:
            self._finalizer.detach()
            shutdown(self._process, self._thread, self._conn, self._cancel, 2.0)
        return failure

    def __repr__(self) -> str:
        state = "failed" if self._failure else "loaded" if self._loaded else "starting" if self._conn else "new"
        return f"ModelWorker({self.side!r}, {str(self.spec)!r}, {state}, pid={self.pid})"
