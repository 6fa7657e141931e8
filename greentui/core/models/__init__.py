"""Models: what to load (:class:`ModelSpec`), which models are known (catalog), and the worker that runs one.

Importing this package is cheap and never imports torch or transformers: those live in ``hf.py``/``hf_stream.py``,
which only the model worker process imports.
"""

from __future__ import annotations

from greentui.core.models.protocol import (
    Generated,
    GenerateRequest,
    Loaded,
    LoadProgress,
    ModelInfo,
    ModelLoadError,
    ModelUnavailable,
    Token,
    WorkerFailed,
    WorkerMessage,
)
from greentui.core.models.resolve import CatalogRow, availability, catalog_rows, offline_gguf_path
from greentui.core.models.spec import ModelSpec, SpecError
from greentui.core.models.worker import ModelWorker

__all__ = [
    "CatalogRow",
    "GenerateRequest",
    "Generated",
    "LoadProgress",
    "Loaded",
    "ModelInfo",
    "ModelLoadError",
    "ModelSpec",
    "ModelUnavailable",
    "ModelWorker",
    "SpecError",
    "Token",
    "WorkerFailed",
    "WorkerMessage",
    "availability",
    "catalog_rows",
    "offline_gguf_path",
]
