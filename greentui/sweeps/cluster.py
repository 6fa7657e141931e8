"""The Dask executor: each session of the sweep is one Dask task on a worker that holds a whole device.

``--cluster tcp://HOST:8786`` joins a running cluster (started on Slurm, PBS or Kubernetes with dask-jobqueue or
dask-kubernetes, see docs/SWEEPS.md); ``--cluster local:N`` starts a :class:`distributed.LocalCluster` of N worker
processes bound to 127.0.0.1, without a dashboard. Every task asks for one unit of a worker resource (``GPU`` for
sessions on a GPU, ``CPU`` otherwise), so two sessions never share a board: NVML and RAPL measure whole devices.

The driver stays the single writer of the user's store: each task publishes its session's key events on the
sweep's topic (written here as they come, so a lost worker loses no finished item) and returns the whole session,
which is merged at the end. A worker lost mid-session leaves that session ``interrupted`` with the reason; the
sweep goes on, and running it again resumes the session.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from greentui.core.models.spec import ModelSpec, SpecError
from greentui.core.records import event_from_dict
from greentui.core.run.session import new_session_id
from greentui.store.db import SessionStore
from greentui.store.errors import StoreError
from greentui.store.sweeps import merge_session
from greentui.store.writer import StoreWriter
from greentui.sweeps.driver import SessionResult, Step

CPU_RESOURCE, GPU_RESOURCE = "CPU", "GPU"
_LOCAL_PREFIX = "local:"
_MAX_ATTEMPTS = 3  # a task lost before it started is submitted again, at most this many times in all


class ClusterError(Exception):
    """The cluster cannot be used (bad address, unreachable scheduler, no worker with the resource); one line."""


def parse_cluster(text: str) -> tuple[str, int | None]:
    """``local:N`` -> ("local", N); ``tcp://HOST:PORT`` (or tls://, or a scheduler file path) -> (text, None)."""
    if text.startswith(_LOCAL_PREFIX):
        count = text[len(_LOCAL_PREFIX) :]
        if not count.isdigit() or int(count) < 1:
            raise ClusterError(f"--cluster {text!r}: local:N needs a number of workers N >= 1, like local:2")
        return "local", int(count)
    if "://" not in text:
        raise ClusterError(f"--cluster {text!r}: give a scheduler address like tcp://HOST:8786, or local:N")
    return text, None


def needs_gpu(step: Step) -> bool | None:
    """True for a session whose models name a CUDA device, False for explicit CPU ones (and fake models, which
    compute nothing on any device), None for ``auto``."""
    devices = set()
    for text in (step.planned.config.model_a, step.planned.config.model_b):
        try:
            spec = ModelSpec.parse(text)
        except SpecError:
            devices.add("auto")  # the session itself will say what is wrong with the spec
            continue
        devices.add("cpu" if spec.is_fake else spec.device)
    if any(d.startswith("cuda") for d in devices):
        return True
    return False if devices == {"cpu"} else None


@dataclass
class _Live:
    """A session in flight: its step, its id, and the writer that keeps its streamed events."""

    step: Step
    session_id: str
    writer: StoreWriter | None = None  # opened at the first streamed event
    worker: str = ""
    pid: int | None = None
    started: bool = False
    t0: float = field(default_factory=time.monotonic)
    resource: str = CPU_RESOURCE
    job: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0


class DaskExecutor:
    """Sessions as Dask tasks (see the module docstring). ``on_placed(key, worker_address, pid)`` is told where a
    session landed (tests use it to kill that worker); ``inline_workers`` runs fake models in threads (tests)."""

    name = "dask"

    def __init__(
        self,
        store: SessionStore,
        cluster: str,
        *,
        resource: str | None = None,
        inline_workers: bool = False,
        on_placed: Callable[[str, str, int | None], None] | None = None,
        connect_timeout_s: float = 20.0,
    ) -> None:
        self.store = store
        self.address, self.local_workers = parse_cluster(cluster)
        self.cluster = cluster  # as the user wrote it, for messages
        self.resource = resource
        self.inline_workers = inline_workers
        self.on_placed = on_placed
        self.connect_timeout_s = connect_timeout_s
        self.stopped = False
        self.notes: list[str] = []  # one-line facts about the cluster for the summary
        self._client: Any = None
        self._cluster: Any = None
        self._config: Any = None
        self._log_level: int | None = None
        self._lock = threading.Lock()
        self._live: dict[str, _Live] = {}
        self._closed: set[str] = set()

    # ---- the cluster ----------------------------------------------------------------------------------
    def open(self) -> None:
        """Start or join the cluster (raises ClusterError)."""
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise ClusterError("the Dask executor needs the cluster extra: pip install 'greentui[cluster]'") from None
        # A lost worker must fail its task at once (not be retried elsewhere from the first item): the driver marks
        # the session interrupted and a later run resumes it. Workers must not be daemons, or they could not start
        # the model processes. Both are read by the scheduler and the nannies of a LocalCluster, in this process.
        self._config = dask.config.set(
            {"distributed.scheduler.allowed-failures": 0, "distributed.worker.daemon": False}
        )
        # The scheduler (of a local cluster), the nannies and the client log here: a lost worker or a failed task
        # is already one result line of the sweep, and their tracebacks would bury it.
        distributed_log = logging.getLogger("distributed")
        self._log_level = distributed_log.level
        distributed_log.setLevel(logging.CRITICAL)
        try:
            if self.address == "local":
                self._cluster = self._local_cluster(LocalCluster)
                self._client = Client(self._cluster, timeout=self.connect_timeout_s)
            else:
                self._client = Client(self.address, timeout=self.connect_timeout_s)
        except ClusterError:  # already one line about this cluster (e.g. local:N on this machine's GPUs)
            self.close()
            raise
        except OSError as exc:
            self.close()
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        except Exception as exc:  # distributed raises TimeoutError and its own errors for an unusable address
            self.close()
            raise ClusterError(f"cannot start or join the Dask cluster {self.address}: {exc}") from None

    def _local_cluster(self, local_cluster: Any) -> Any:
        from greentui.core.measure.fingerprint import hardware_fingerprint

        count = self.local_workers or 1
        gpus = hardware_fingerprint()["gpus"]
        common = {
            "host": "127.0.0.1",  # the scheduler and every worker listen on loopback only
            "dashboard_address": None,
            "threads_per_worker": 1,
            "processes": True,
            # a lost worker is one result line of the sweep, not a page of scheduler and nanny logs
            "silence_logs": logging.CRITICAL,
        }
        if not gpus:
            if count > 1:
                self.notes.append(
                    f"local:{count} on a machine without a GPU runs {count} sessions at once on one CPU: "
                    "each session's energy includes the others' work"
                )
            return local_cluster(n_workers=count, resources={CPU_RESOURCE: 1}, **common)
        # One worker per GPU, each seeing only its own card (CUDA_VISIBLE_DEVICES), as dask-cuda's workers do: a
        # session on a GPU always has its board to itself, since NVML measures whole boards. Workers beyond the
        # GPUs see no GPU at all and take only sessions whose models run on the CPU (fake models included): more
        # sessions at once rather than a refusal, at the price the note states.
        on_gpus = min(count, len(gpus))
        cluster = local_cluster(n_workers=0, **common)
        base = cluster.new_spec
        for index in range(count):
            options = {**base["options"]}
            if index < on_gpus:
                options["env"] = {"CUDA_VISIBLE_DEVICES": str(index)}
                options["resources"] = {GPU_RESOURCE: 1, CPU_RESOURCE: 1} if index == 0 else {GPU_RESOURCE: 1}
                cluster.worker_spec[f"gpu{index}"] = {"cls": base["cls"], "options": options}
            else:
                options["env"] = {"CUDA_VISIBLE_DEVICES": ""}
                options["resources"] = {CPU_RESOURCE: 1}
                cluster.worker_spec[f"cpu{index - on_gpus}"] = {"cls": base["cls"], "options": options}
        if count > on_gpus:
            extra = count - on_gpus
            self.notes.append(
                f"local:{count} on a machine with {len(gpus)} GPU(s): {on_gpus} worker(s) with a GPU each, and "
                f"{extra} without a GPU that run only sessions whose models are on the CPU; sessions on the CPU run "
                "at the same time as the others, so their CPU energy includes the others' work"
            )
        cluster.scale(count)
        return cluster

    def close(self) -> None:
        for closing in (self._client, self._cluster):
            if closing is not None:
                try:
                    closing.close()
                except Exception:  # closing a cluster whose workers are gone must not hide the results
                    logging.getLogger(__name__).debug("closing the Dask cluster", exc_info=True)
        self._client = self._cluster = None
        if self._config is not None:
            self._config.__exit__(None, None, None)
            self._config = None
        if self._log_level is not None:
            logging.getLogger("distributed").setLevel(self._log_level)
            self._log_level = None

    def _resource_for(self, step: Step, offered: dict[str, int]) -> str:
        if self.resource:
            return self.resource
        gpu = needs_gpu(step)
        if gpu is True or (gpu is None and offered.get(GPU_RESOURCE)):
            return GPU_RESOURCE
        return CPU_RESOURCE

    def _offered(self) -> dict[str, int]:
        """How many workers offer each resource (waits up to the connect timeout for the first worker)."""
        deadline = time.monotonic() + self.connect_timeout_s
        while True:
            workers = self._client.scheduler_info()["workers"].values()
            if workers or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        offered: dict[str, int] = {}
        for info in workers:
            for name, amount in (info.get("resources") or {}).items():
                if amount >= 1:
                    offered[name] = offered.get(name, 0) + 1
        return offered

    # ---- streamed events (called on the client's event-loop thread) ------------------------------------
    def _on_message(self, message: Any) -> None:
        _, body = message
        if not isinstance(body, dict):
            return
        with self._lock:
            live = self._live.get(str(body.get("key")))
            if live is None or live.step.planned.key in self._closed:
                return  # late news of a session already merged
            if body.get("placed"):
                live.worker, live.pid = str(body.get("worker", "")), body.get("pid")
                if self.on_placed is not None:
                    self.on_placed(live.step.planned.key, live.worker, live.pid)
                return
            data = body.get("event")
            if not isinstance(data, dict):
                return
            if live.writer is None:
                live.writer = self.store.writer()
            event = event_from_dict(data)
            live.started = live.started or event.kind == "session_started"
            live.writer.handle(event)

    # ---- running ----------------------------------------------------------------------------------------
    def run(self, steps: Sequence[Step], on_result: Callable[[SessionResult], None]) -> None:
        if not steps:
            return
        if self._client is None:
            self.open()
        from distributed import Event as DaskEvent
        from distributed import as_completed

        from greentui.sweeps.remote import run_session_job

        client = self._client
        offered = self._offered()
        topic = f"greentui-sweep-{uuid.uuid4().hex[:12]}"
        futures: dict[Any, _Live] = {}

        def submit(live: _Live) -> Any:
            live.attempts += 1
            future = client.submit(
                run_session_job,
                live.job,
                resources={live.resource: 1},
                key=f"greentui-{live.step.planned.key[:16]}-{topic}-{live.attempts}",
                pure=False,
                retries=0,
            )
            futures[future] = live
            return future

        resources = [self._resource_for(step, offered) for step in steps]
        missing = next((r for r in resources if not offered.get(r)), None)
        if missing is not None:  # said before anything is submitted, so no session starts half-way
            have = ", ".join(f"{k}={v}" for k, v in offered.items()) or "none"
            raise ClusterError(
                f"no worker of {self.cluster} offers the resource {missing}=1 (workers offer: {have}); "
                f"start workers with --resources {missing}=1 (see docs/SWEEPS.md)"
            )
        stop = DaskEvent(f"{topic}-stop", client=client)
        client.subscribe_topic(topic, self._on_message)
        try:
            for step, resource in zip(steps, resources):
                live = _Live(step, step.session_id or new_session_id(), resource=resource)
                live.job = {
                    "config": step.planned.config.to_dict(),
                    "session_id": live.session_id,
                    "skip": {side: sorted(ids) for side, ids in step.done.items()},
                    "topic": topic,
                    "key": step.planned.key,
                    "inline_workers": self.inline_workers,
                    "stop_event": f"{topic}-stop",
                }
                with self._lock:
                    self._live[step.planned.key] = live
                submit(live)
            pending = as_completed(list(futures))
            for future in pending:
                live = futures.pop(future)
                if future.status != "finished" and not live.worker and live.attempts < _MAX_ATTEMPTS:
                    # lost with a worker before it even started (queued there): it simply runs elsewhere
                    pending.add(submit(live))
                    continue
                on_result(self._finish(live, future))
        except KeyboardInterrupt:
            self.stopped = True
            stop.set()  # the sessions running stop after their current item and come back as interrupted
            queued = [future for future, live in futures.items() if not live.worker]
            if queued:  # not placed on a worker yet: they never start (one that just started sees the event)
                client.cancel(queued)
            for future, live in list(futures.items()):
                if live.step.planned.key not in self._closed:
                    on_result(self._finish(live, future, stopped=True))
        finally:
            client.unsubscribe_topic(topic)

    def _finish(self, live: _Live, future: Any, *, stopped: bool = False) -> SessionResult:
        key = live.step.planned.key
        outcome: dict[str, Any] | None = None
        lost = ""
        try:
            outcome = future.result(timeout=30 if stopped else None)
        except Exception as exc:  # KilledWorker, a cancelled task, a scheduler that went away
            lost = _lost_reason(exc)
        with self._lock:
            self._closed.add(key)
            writer = live.writer
        if writer is not None:
            writer.close()
        where = (outcome or {}).get("worker") or live.worker or self.address
        seconds = time.monotonic() - live.t0
        if outcome is None:
            reason = (
                "the sweep was stopped with Ctrl-C"
                if stopped
                else f"the Dask worker {live.worker or '(unknown)'} was lost mid-session ({lost})"
            )
            if not live.started:
                return SessionResult(live.step, None, "not started", reason, seconds, where)
            try:
                self.store.mark_status(live.session_id, "interrupted", reason)
            except StoreError as exc:
                return SessionResult(live.step, live.session_id, "interrupted", reason, seconds, where, (str(exc),))
            return SessionResult(live.step, live.session_id, "interrupted", reason, seconds, where)
        errors = list(outcome.get("store_errors") or [])
        export = outcome.get("export")
        if export is not None:
            try:
                merge_session(self.store, export)
            except StoreError as exc:
                errors.append(f"merging into {self.store.path}: {exc}")
        session_id = outcome.get("session_id") if (export is not None or live.started) else None
        return SessionResult(
            live.step,
            session_id,
            str(outcome.get("status")),
            str(outcome.get("reason") or ""),
            seconds,
            where,
            tuple(errors),
        )


def _lost_reason(exc: BaseException) -> str:
    """Why a task's result never came, in a few words (Dask's own messages run to a paragraph)."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return "KilledWorker: the worker process died (killed, out of memory, or its node went away)"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{name}: {first[:160]}" if first else name
