"""Snapshot fixtures: a pinned time zone, and the setup screen's disk-dependent lists replaced by fixed ones."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from greentui.tui.screens import setup as setup_screen
from greentui.tui.widgets.model_picker import CatalogChoice
from greentui.tui.widgets.task_picker import TaskChoice

CATALOG = [
    CatalogChoice("smollm2-135m@fp32", "SmolLM2-135M-Instruct", "available here", "default on cpu"),
    CatalogChoice("smollm2-135m@bf16", "SmolLM2-135M-Instruct", "available here", ""),
    CatalogChoice("smollm2-135m@fp16", "SmolLM2-135M-Instruct", "needs a CUDA GPU", "gpu only"),
    CatalogChoice("smollm2-135m@nf4", "SmolLM2-135M-Instruct", "available here", ""),
    CatalogChoice("smollm2-135m@dint8", "SmolLM2-135M-Instruct", "available here", ""),
    CatalogChoice("qwen2.5-0.5b", "Qwen2.5-0.5B-Instruct", "downloads on first use", "needs the network once"),
    CatalogChoice("llama3.2-1b", "Llama-3.2-1B-Instruct", "downloads on first use", "gated"),
]
TASKS = [
    TaskChoice(
        "arithmetic",
        "Arithmetic word problems",
        "Short word problems in one to three steps; integer answers.",
        "reasoning",
        120,
        "accuracy",
        0.0,
    ),
    TaskChoice(
        "sentiment",
        "Sentiment of product reviews",
        "Is a short product review positive or negative?",
        "nlp",
        120,
        "accuracy",
        0.5,
    ),
    TaskChoice(
        "text-to-sql",
        "Text to SQL: a bookshop database",
        "Turn a question into one SQLite query; scored by running it.",
        "sql",
        74,
        "execution accuracy",
        0.0,
    ),
]


@pytest.fixture(autouse=True)
def _deterministic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(setup_screen, "catalog_choices", lambda: list(CATALOG))
    monkeypatch.setattr(setup_screen, "task_choices", lambda: list(TASKS))
    yield
    monkeypatch.undo()
    time.tzset()
