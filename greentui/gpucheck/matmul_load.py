"""A steady matrix-multiply load on one GPU, in a spawned child process.

Why a child: the parent samples NVML at ~100 Hz while the load runs, and a Python loop launching kernels in the
same process would hold the GIL between launches and make the sampling uneven. The child also keeps torch and a
CUDA context out of the kit's own process, so the idle span before the load is a GPU with no context at all.

Protocol over one pipe: the child allocates, runs one warm-up product, sends ``("ready", name)``; the parent sends
``"go"`` (the span starts just before), later ``"stop"``; the child finishes its batch, synchronises, and sends
``("stopped", products, seconds)``. Any failure is ``("error", one line)``.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

MATRIX_SIZE = 8192
BATCH = 10  # products per synchronisation: ~20 ms on an H100 in fp16, a few hundred ms on small boards


class LoadError(RuntimeError):
    """The load could not start or ended badly (one line)."""


@dataclass(frozen=True)
class LoadResult:
    device_name: str
    products: int
    seconds: float
    size: int

    @property
    def tflops(self) -> float:
        return 2.0 * self.size**3 * self.products / self.seconds / 1e12 if self.seconds > 0 else 0.0


def _child(connection: Connection, device_index: int, size: int) -> None:
    try:
        import torch

        device = torch.device(f"cuda:{device_index}")
        a = torch.randn(size, size, device=device, dtype=torch.float16)
        b = torch.randn(size, size, device=device, dtype=torch.float16)
        c = torch.empty(size, size, device=device, dtype=torch.float16)
        torch.matmul(a, b, out=c)
        torch.cuda.synchronize(device)
        connection.send(("ready", torch.cuda.get_device_name(device)))
        if connection.recv() != "go":
            return
        products = 0
        started = time.monotonic()
        while not connection.poll():
            for _ in range(BATCH):
                torch.matmul(a, b, out=c)
            torch.cuda.synchronize(device)
            products += BATCH
        seconds = time.monotonic() - started
        connection.recv()
        connection.send(("stopped", products, seconds))
    except Exception as exc:  # reported to the parent as one line
        try:
            connection.send(("error", f"{type(exc).__name__}: {exc}".splitlines()[0][:300]))
        except (OSError, ValueError):
            pass


class MatmulLoad:
    """``start()`` (returns when the GPU is ready), ``go()``, ``stop() -> LoadResult``; ``close()`` always."""

    def __init__(self, device_index: int = 0, size: int = MATRIX_SIZE, start_timeout_s: float = 180.0) -> None:
        self.device_index = device_index
        self.size = size
        self.start_timeout_s = start_timeout_s
        self._parent: Connection | None = None
        self._process: Any = None
        self.device_name = ""

    def start(self) -> str:
        context = mp.get_context("spawn")
        self._parent, child = context.Pipe()
        self._process = context.Process(
            target=_child, args=(child, self.device_index, self.size), name="gpucheck-load", daemon=True
        )
        self._process.start()
        child.close()
        message = self._receive(self.start_timeout_s, "starting")
        if message[0] != "ready":
            raise LoadError(f"unexpected message from the load process: {message[0]!r}")
        self.device_name = str(message[1])
        return self.device_name

    def go(self) -> None:
        assert self._parent is not None
        self._parent.send("go")

    def stop(self, timeout_s: float = 60.0) -> LoadResult:
        assert self._parent is not None
        self._parent.send("stop")
        message = self._receive(timeout_s, "stopping")
        if message[0] != "stopped":
            raise LoadError(f"unexpected message from the load process: {message[0]!r}")
        return LoadResult(self.device_name, int(message[1]), float(message[2]), self.size)

    def _receive(self, timeout_s: float, doing: str) -> tuple[Any, ...]:
        assert self._parent is not None
        deadline = time.monotonic() + timeout_s
        while not self._parent.poll(0.2):
            if self._process is not None and not self._process.is_alive():
                raise LoadError(f"the load process died while {doing} (exit code {self._process.exitcode})")
            if time.monotonic() > deadline:
                raise LoadError(f"the load process did not answer within {timeout_s:.0f} s while {doing}")
        try:
            message = self._parent.recv()
        except EOFError:
            raise LoadError(f"the load process closed its pipe while {doing}") from None
        if message[0] == "error":
            raise LoadError(f"matrix-multiply load failed while {doing}: {message[1]}")
        return tuple(message)

    def close(self) -> None:
        if self._parent is not None:
            self._parent.close()
        if self._process is not None:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=5)
