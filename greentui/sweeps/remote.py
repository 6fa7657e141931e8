"""What a Dask worker runs for one session of a sweep (imported by name on the worker, so it stays light).

The session runs on the worker with that node's own sensors and writes into a database file local to the worker
(``<worker local directory>/greentui/sessions.db``). While it runs, the events that must not be lost (start, model
loaded, idle baseline, each scored item, a failed lane, the end) are published on the sweep's topic, so the driver
keeps a copy of the finished items even if this worker dies; the full session (with its power samples) goes back as
the task's result and the driver merges it into the user's store.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greentui.core.records import Event, Side

if TYPE_CHECKING:  # the worker imports the engine when a job runs
    from greentui.services import SessionRun

# Events worth a message to the driver: a power sample every 0.1 s is not, it comes with the final result.
STREAMED = frozenset(
    {
        "session_started",
        "model_loaded",
        "idle_measured",
        "item_started",
        "item_scored",
        "run_failed",
        "session_finished",
    }
)
DAEMON_HINT = (
    "this Dask worker runs as a daemon process, which may not start the model processes: start the workers with "
    "DASK_DISTRIBUTED__WORKER__DAEMON=False (see docs/SWEEPS.md)"
)


def _worker_db(local_directory: str | None) -> Path:
    base = Path(local_directory) if local_directory else Path.cwd()
    folder = base / "greentui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "sessions.db"


def run_session_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one planned session (``job`` from ``cluster.DaskExecutor``) and return its outcome and export.

    Never raises for what a session can get wrong (bad configuration, a model that fails): the result says it.
    """
    from distributed import Event as DaskEvent
    from distributed import get_client, get_worker

    from greentui.core.run.session import SessionConfig
    from greentui.services import SessionError, SessionRun
    from greentui.store import SessionStore, StoreError
    from greentui.store.export import session_to_json

    worker = get_worker()
    topic, key = job["topic"], job["key"]

    def publish(message: dict[str, Any]) -> None:
        worker.log_event(topic, {"key": key, **message})

    result: dict[str, Any] = {"key": key, "worker": worker.address, "session_id": job["session_id"]}
    publish({"placed": True, "worker": worker.address, "pid": os.getpid()})
    if multiprocessing.current_process().daemon and not job.get("inline_workers"):
        return {**result, "status": "not started", "reason": DAEMON_HINT}
    config = SessionConfig.from_dict(job["config"])
    skip: dict[Side, set[str]] = {side: set(ids) for side, ids in job.get("skip", {}).items()}
    try:
        store = SessionStore(_worker_db(worker.local_directory))
    except StoreError as exc:
        return {**result, "status": "not started", "reason": f"worker database: {exc}"}
    try:
        run = SessionRun(
            config,
            store,
            session_id=job["session_id"],
            skip_items=skip or None,
            inline_workers=bool(job.get("inline_workers")),
        )
        try:
            run.prepare()
        except SessionError as exc:
            run.close()
            return {**result, "status": "not started", "reason": str(exc)}

        def stream(event: Event) -> None:
            if event.kind in STREAMED:
                publish({"event": event.to_dict()})

        run.subscribe(stream)
        # The client is taken here, on the task's thread: the watcher thread below has no worker context, and an
        # Event that looks for its client there finds none (and would never see the driver's Ctrl-C).
        stop = DaskEvent(job["stop_event"], client=get_client()) if job.get("stop_event") else None
        if stop is not None and stop.is_set():  # the sweep was stopped while this task waited for a worker
            run.close()
            return {**result, "status": "not started", "reason": "the sweep was stopped with Ctrl-C"}
        done = threading.Event()
        if stop is not None:
            threading.Thread(target=_watch_stop, args=(stop, done, run), daemon=True, name="greentui-stop").start()
        try:
            outcome = run.run()
        except SessionError as exc:  # found once the session starts (e.g. no power source works on this node)
            return {**result, "status": "not started", "reason": str(exc)}
        finally:
            done.set()
        result.update(status=outcome.status, reason=outcome.reason, store_errors=list(outcome.store_errors))
        try:
            result["export"] = session_to_json(store, outcome.session_id)
        except StoreError as exc:
            result["store_errors"] = [*result["store_errors"], f"export from the worker: {exc}"]
        result["worker_db"] = str(store.path)
        return result
    finally:
        store.close()


def _watch_stop(stop: Any, done: threading.Event, run: SessionRun) -> None:  # stop: a distributed.Event (untyped)
    """Stop the session (keeping its finished items) when the driver sets the sweep's stop event (Ctrl-C there)."""
    while not done.is_set():
        try:
            if stop.wait(timeout=1.0):
                run.session.request_stop()
                return
        except Exception:  # the scheduler went away: nobody can ask us to stop any more
            return
