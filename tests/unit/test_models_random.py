"""Random-weight models of known architectures (``random:NAME``): the shape table against the model cards, the spec
form, the tokenizer that covers the whole vocabulary, and the build-once cache loaded through the real HF path."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from greentui.core.models import architectures, catalog, hf_random, resolve
from greentui.core.models.architectures import ARCHITECTURES, Architecture
from greentui.core.models.protocol import Generated, GenerateRequest, Loaded, LoadProgress, Token
from greentui.core.models.spec import ModelSpec, SpecError
from greentui.core.models.worker import ModelWorker
from greentui.core.records import Prompt

PROMPT = Prompt(({"role": "user", "content": "What is 2+3?"},), "What is 2+3?")
# A Llama small enough to build in a fraction of a second, registered for the tests that load one.
TINY = Architecture(
    "tiny-test", "Tiny-Test", "(none: test double)", 0,
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
    vocab_size=600, max_position_embeddings=512, rope_theta=10000.0,
)  # fmt: skip


@pytest.fixture
def tiny_arch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Architecture:
    monkeypatch.setenv("GREENTUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(architectures._BY_NAME, TINY.name, TINY)
    return TINY


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_shapes_give_the_model_cards_parameter_count(arch: Architecture) -> None:
    assert arch.parameter_count() == arch.params
    entry = catalog.find(arch.name)
    assert entry is not None and entry.params == arch.params  # the catalog's figure for the real model agrees


@pytest.mark.parametrize("name", ["smollm2-135m", "llama3.2-1b"])
def test_transformers_builds_exactly_those_shapes(name: str) -> None:
    torch = pytest.importorskip("torch")
    from transformers import LlamaConfig, LlamaForCausalLM

    arch = architectures.find(name)
    assert arch is not None
    with torch.device("meta"):  # shapes only: no memory, no init time
        model = LlamaForCausalLM(LlamaConfig(**arch.config_fields()))
    assert sum(p.numel() for p in model.parameters()) == arch.params  # tied head counted once
    assert model.config.num_key_value_heads == arch.num_key_value_heads
    if arch.rope_scaling:
        assert model.config.rope_parameters["rope_type"] == "llama3"


def test_spec_form() -> None:
    spec = ModelSpec.parse("random:Llama3.2-1B@nf4,cuda")
    assert spec.source == "random:llama3.2-1b" and spec.kind == "random"  # canonical spelling
    assert spec.architecture is architectures.find("llama3.2-1b")
    assert (spec.quant, spec.device) == ("nf4", "cuda")
    assert spec.display_name == "random Llama-3.2-1B@nf4,cuda"
    assert str(spec) == "random:llama3.2-1b@nf4,cuda" and ModelSpec.parse(str(spec)) == spec
    assert resolve.resolve(spec) == resolve.Resolved("random", "llama3.2-1b")
    assert ModelSpec.parse("smollm2-135m").architecture is None
    with pytest.raises(SpecError, match=r"unknown architecture 'llama3.2-1bb'.*did you mean random:llama3.2-1b"):
        ModelSpec.parse("random:llama3.2-1bb")
    with pytest.raises(SpecError, match="applies to hub models only"):
        ModelSpec.parse("random:smollm2-135m#main")


def test_tokenizer_decodes_every_id_of_the_vocabulary() -> None:
    pytest.importorskip("tokenizers")
    tokenizer = hf_random.build_tokenizer(3000)
    assert len(tokenizer) == 3000
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [0, 1, 2]
    assert tokenizer.eos_token_id == 2
    decoded = [tokenizer.decode([i]) for i in range(3, 3000)]
    assert all(decoded), "an id that decodes to nothing would stream as silence"
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2+3?"}], add_generation_prompt=True, tokenize=False
    )
    assert text.endswith("<|im_start|>assistant\n")
    assert tokenizer.decode(tokenizer("What is 12 + 7? The answer").input_ids) == "What is 12 + 7? The answer"


def _load(spec: str) -> tuple[Loaded, list[LoadProgress], ModelWorker]:
    worker = ModelWorker("A", ModelSpec.parse(spec), inline=True, load_timeout_s=120)
    worker.start()
    stages = []
    while isinstance(message := worker.poll(120), LoadProgress):
        stages.append(message)
    assert isinstance(message, Loaded), message
    return message, stages, worker


def test_built_once_then_loaded_like_any_folder(tiny_arch: Architecture) -> None:
    loaded, stages, worker = _load("random:tiny-test@bf16")
    try:
        assert any("building random Tiny-Test" in s.stage for s in stages)
        info = loaded.info
        assert info.params_total == tiny_arch.parameter_count() and info.dtype == "bf16"
        assert info.weight_bytes == info.params_total * 2
        worker.generate(GenerateRequest("r", PROMPT, 12, stop=("w",), fixed_length=True))
        tokens = []
        while isinstance(message := worker.poll(60), Token):
            tokens.append(message)
        assert isinstance(message, Generated)
        assert message.tokens_out == 12 and message.stop_reason == "max-tokens"
        assert "".join(t.text for t in tokens) == message.text  # every id decodes: the pieces add up
    finally:
        worker.stop()
    folder = hf_random.cached_random_model(tiny_arch)
    assert folder is not None
    marker = json.loads((folder / "greentui.json").read_text())
    assert marker["random_weights"] is True and marker["architecture"] == "tiny-test" and marker["seed"] == 0
    _, again, worker = _load("random:tiny-test@fp32")  # cached: no second build
    worker.stop()
    assert not any("building" in s.stage for s in again)


def test_two_workers_at_once_build_it_once(tiny_arch: Architecture, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    builds: list[Path] = []
    real_build = hf_random.build_random_model

    def counting_build(arch: Architecture, target: Path, report) -> None:  # type: ignore[no-untyped-def]
        builds.append(target)
        real_build(arch, target, report)

    monkeypatch.setattr(hf_random, "build_random_model", counting_build)
    folders: list[Path] = []
    threads = [
        threading.Thread(target=lambda: folders.append(hf_random.ensure_random_model(tiny_arch))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(builds) == 1 and len(folders) == 2 and folders[0] == folders[1]
    assert not list(folders[0].parent.glob(".tmp-*"))  # the temporary folder was renamed into place
