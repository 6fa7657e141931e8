"""Test-wide isolation: no test touches the user's database, config or model cache, or the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Set before anything imports transformers / huggingface_hub: tests never download.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The converted SmolLM2 cache is expensive to build (~15 s) and safe to share between test runs.
os.environ.setdefault("GREENTUI_CACHE_DIR", str(REPO / ".cache" / "test-models"))


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("GREENTUI_DB", str(home / "greentui.db"))
    monkeypatch.setenv("GREENTUI_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("GREENTUI_STATE_DIR", str(home / "state"))  # recovery journals
