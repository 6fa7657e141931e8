"""The worker side of a model worker: load a backend, then answer requests until told to stop.

:func:`process_main` is the entry point of the spawned process (it must stay importable without torch: the spawn
child imports this module first). :func:`serve` is the loop itself; an inline worker (tests, TUI work) runs it in a
thread of the parent. Whatever happens, the parent hears about it as a message (``WorkerFailed`` with the reason),
or, when the process dies too abruptly to say anything, as an end-of-file on the pipe, which the parent turns into
a failure from the exit code.
"""

from __future__ import annotations

import faulthandler
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from greentui.core.models.protocol import (
    Backend,
    GenerateRequest,
    Loaded,
    LoadProgress,
    LoadRequest,
    ModelLoadError,
    SimulatedExit,
    Standby,
    StopRequest,
    WorkerFailed,
)
from greentui.core.models.spec import ModelSpec

# Set before torch/transformers/huggingface_hub are imported in the worker: no tqdm bars on the terminal the TUI
# draws on, short hub timeouts so an offline machine fails in seconds rather than hanging.
WORKER_ENV = {
    "TQDM_DISABLE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_ETAG_TIMEOUT": "5",
    "HF_HUB_DOWNLOAD_TIMEOUT": "15",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300] if first else type(exc).__name__


def is_out_of_memory(exc: BaseException) -> bool:
    """MemoryError, or torch's OutOfMemoryError (matched by name: this module does not import torch)."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def classify(exc: BaseException, *, loading: bool) -> WorkerFailed:
    """The WorkerFailed for an exception raised by a backend while loading or generating."""
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]
    if isinstance(exc, ModelLoadError):
        return WorkerFailed(exc.failure, exc.reason, detail)
    if is_out_of_memory(exc):
        where = "while loading" if loading else "while generating"
        return WorkerFailed("oom", f"out of memory {where} ({_one_line(exc)})", detail)
    if loading:
        return WorkerFailed("load", f"load failed: {_one_line(exc)}", detail)
    return WorkerFailed("crash", f"model crashed: {_one_line(exc)}", detail)


def make_backend(spec: ModelSpec, *, trust_remote_code: bool, cancel: threading.Event) -> Backend:
    if spec.is_fake:
        from greentui.core.models.fake import FakeBackend

        return FakeBackend(spec, cancel)
    if spec.is_served:
        from greentui.core.models.served import ServedBackend  # httpx, no torch

        return ServedBackend(spec, cancel)
    from greentui.core.models.hf import HFBackend  # imports torch: worker side only

    return HFBackend(spec, trust_remote_code=trust_remote_code, cancel=cancel)


def _read_requests(
    conn: Connection, requests: queue.Queue[Any], cancel: threading.Event, on_parent_gone: Callable[[], None]
) -> None:
    """Reader thread: requests go to the queue; a stop request or a closed pipe cancels whatever runs."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError, TypeError):  # TypeError: the connection was closed under us (inline mode)
            cancel.set()
            requests.put(None)
            on_parent_gone()
            return
        if isinstance(message, StopRequest):
            cancel.set()
            requests.put(None)
            return
        requests.put(message)


def serve(
    conn: Connection,
    spec_text: str,
    *,
    trust_remote_code: bool,
    cancel: threading.Event,
    on_parent_gone: Callable[[], None],
    on_exit: Callable[[int], None],
    close_when_done: bool = False,
) -> None:
    """Load, report, then generate for each request until a stop request or a closed pipe. Never raises.

    ``close_when_done`` (inline workers): end the pipe on return so the parent reads end-of-file, as it would
    from a process that exits."""
    requests: queue.Queue[Any] = queue.Queue()
    reader = threading.Thread(
        target=_read_requests, args=(conn, requests, cancel, on_parent_gone), name="greentui-worker-reader", daemon=True
    )
    reader.start()
    try:
        _serve(conn, requests, spec_text, trust_remote_code=trust_remote_code, cancel=cancel, on_exit=on_exit)
    finally:
        if close_when_done:
            _end_pipe(conn, reader)


def _end_pipe(conn: Connection, reader: threading.Thread) -> None:
    """Shut the socket down (waking our reader thread with end-of-file, telling the parent the same), wait for
    the reader to leave, then close. Closing first would pull the descriptor from under the blocked reader."""
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as view:
            view.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    reader.join(1.0)
    conn.close()


def _serve(
    conn: Connection,
    requests: queue.Queue[Any],
    spec_text: str,
    *,
    trust_remote_code: bool,
    cancel: threading.Event,
    on_exit: Callable[[int], None],
) -> None:

    def send(message: object) -> None:
        conn.send(message)

    def progress(stage: str, fraction: float | None) -> None:
        send(LoadProgress(stage, fraction, time.monotonic()))

    try:
        spec = ModelSpec.parse(spec_text)
        if not (spec.is_fake or spec.is_served):  # importing torch and transformers takes seconds: say so first
            progress("starting: importing torch and transformers", 0.0)
        backend = make_backend(spec, trust_remote_code=trust_remote_code, cancel=cancel)
        info = backend.load(progress)
        send(Loaded(info, time.monotonic()))
    except SimulatedExit as exc:
        on_exit(exc.code)
        return
    except (BrokenPipeError, ConnectionResetError):
        return  # the parent is gone: nobody to tell
    except BaseException as exc:
        _send_quietly(conn, classify(exc, loading=True))
        return
    try:
        while True:
            request = requests.get()
            if request is None:
                break
            if not isinstance(request, GenerateRequest):
                continue
            try:
                result = backend.generate(request, send)
            except SimulatedExit as exc:
                on_exit(exc.code)
                return
            except (BrokenPipeError, ConnectionResetError):
                return
            except BaseException as exc:
                _send_quietly(conn, classify(exc, loading=False))
                return
            send(result)
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        backend.close()


def _send_quietly(conn: Connection, message: object) -> None:
    try:
        conn.send(message)
    except (OSError, ValueError):
        pass


def _redirect_output(log_path: str | None) -> None:
    """Send this process's stdout/stderr (C level too: warnings from torch, bitsandbytes) to the log file, so
    nothing lands on the terminal the TUI draws on."""
    target = os.devnull
    if log_path:
        try:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            target = log_path
        except OSError:
            target = os.devnull
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    faulthandler.enable(file=sys.stderr)  # a segfault leaves a traceback in the log


def import_backend_libraries() -> None:
    """Import what loading a Hugging Face model needs (torch, transformers, accelerate, greentui's backend), the
    seconds of work a standby worker does before it knows its model."""
    from greentui.core.models import hf

    hf.quiet_libraries()


def _standby(conn: Connection) -> LoadRequest:
    """A standby worker: import the heavy libraries, say so, then wait for the model to load. Exits quietly when
    the parent goes away or stops it first (the user quit, or raced fake models)."""
    import_backend_libraries()
    try:
        conn.send(Standby(time.monotonic()))
        while True:
            message = conn.recv()
            if isinstance(message, LoadRequest):
                return message
            if isinstance(message, StopRequest):
                os._exit(0)
    except (EOFError, OSError):
        os._exit(0)


GROUP_STOP_GRACE_S = 3.0


def _group_stop(signum: int, frame: object) -> None:
    """SIGTERM / SIGHUP in a worker. A closed terminal's SIGHUP and a service manager's SIGTERM reach the whole
    process group: the parent, stopping its session, asks this worker to stop within a moment, and a worker killed
    under it would read as a failed model. A signal meant for this worker alone (nobody asks) ends it after
    ``GROUP_STOP_GRACE_S``, as the default action would have, and the parent reports it killed by that signal."""

    def die(*_: object) -> None:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    if hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, die)
        signal.setitimer(signal.ITIMER_REAL, GROUP_STOP_GRACE_S)
    else:
        die()


def process_main(conn: Connection, spec_text: str | None, trust_remote_code: bool, log_path: str | None) -> None:
    """Entry point of the spawned worker process; ``spec_text`` None starts a standby worker (see _standby)."""
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _group_stop)
    for key, value in WORKER_ENV.items():
        os.environ.setdefault(key, value)
    _redirect_output(log_path)
    if spec_text is None:
        request = _standby(conn)
        spec_text, trust_remote_code = request.spec, request.trust_remote_code
        if request.log_path != log_path:
            _redirect_output(request.log_path)
    cancel = threading.Event()

    def parent_gone() -> None:
        os._exit(0)  # the pipe closed under us: the parent died or gave up on us; leave no orphan

    def exit_now(code: int) -> None:
        sys.stderr.flush()
        os._exit(code)

    serve(
        conn,
        spec_text,
        trust_remote_code=trust_remote_code,
        cancel=cancel,
        on_parent_gone=parent_gone,
        on_exit=exit_now,
    )
    conn.close()
