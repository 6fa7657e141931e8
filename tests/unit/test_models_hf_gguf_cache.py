"""The GGUF -> safetensors cache on a tiny GGUF: converted once, keyed by sha256, identical weights, and written
atomically (a failed or killed conversion never leaves something that looks like a cache)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greentui.core.models import hf_gguf_cache
from greentui.core.models.protocol import Generated, GenerateRequest, Loaded, LoadProgress
from greentui.core.models.spec import ModelSpec
from greentui.core.models.worker import ModelWorker
from greentui.core.records import Prompt
from tests.helpers.tiny_models import build_tiny_gguf

torch = pytest.importorskip("torch")
PROMPT = Prompt(({"role": "user", "content": "What is 2+3?"},), "What is 2+3?")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GREENTUI_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def _load_and_answer(spec: str) -> tuple[list[str], Loaded, Generated]:
    worker = ModelWorker("A", ModelSpec.parse(spec), inline=True, load_timeout_s=120)
    worker.start()
    stages: list[str] = []
    try:
        while isinstance(message := worker.poll(120), LoadProgress):
            stages.append(message.stage)
        assert isinstance(message, Loaded), message
        worker.generate(GenerateRequest("q", PROMPT, 16))
        while not isinstance(result := worker.poll(60), Generated):
            assert result is not None
        return stages, message, result
    finally:
        worker.stop()


def test_cache_dir_override(cache: Path) -> None:
    assert hf_gguf_cache.cache_dir() == cache
    assert hf_gguf_cache.models_cache_dir() == cache / "models"


def test_converts_once_then_loads_from_the_cache(cache: Path, gguf: Path) -> None:
    first_stages, first_loaded, first = _load_and_answer(str(gguf))
    assert any("converting GGUF" in stage for stage in first_stages)
    digest = hf_gguf_cache.sha256_file(gguf)
    folder = cache / "models" / f"gguf-{digest}"
    marker = json.loads((folder / hf_gguf_cache.MARKER).read_text())
    assert marker["sha256"] == digest and marker["source"] == str(gguf.resolve())
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    assert [p.name for p in (cache / "models").iterdir() if p.name.startswith(".tmp")] == []

    second_stages, second_loaded, second = _load_and_answer(str(gguf))
    assert not any("converting" in stage for stage in second_stages)
    assert second.text == first.text and second.tokens_out == first.tokens_out == 16
    assert second_loaded.info.params_total == first_loaded.info.params_total


def test_cached_weights_equal_the_gguf_weights(cache: Path, gguf: Path) -> None:
    from transformers import AutoModelForCausalLM

    folder = hf_gguf_cache.ensure_converted(gguf)
    direct = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    cached = AutoModelForCausalLM.from_pretrained(folder)
    direct_state, cached_state = direct.state_dict(), cached.state_dict()
    assert direct_state.keys() == cached_state.keys()
    assert all(torch.equal(direct_state[name], cached_state[name]) for name in direct_state)
    assert hf_gguf_cache.cached_conversion(gguf) == folder


def test_while_converting_the_gguf_is_parsed_once_and_the_library_is_restored_after(gguf: Path) -> None:
    import gguf as gguf_library

    original_reader, original_map = gguf_library.GGUFReader, gguf_library.get_tensor_name_map
    with pytest.raises(RuntimeError), hf_gguf_cache._parsed_once():
        first = gguf_library.GGUFReader(gguf)
        assert gguf_library.GGUFReader(str(gguf)) is first  # the tokenizer, config and weights share one parse
        arch = next(iter(gguf_library.MODEL_ARCH_NAMES))
        assert gguf_library.get_tensor_name_map(arch, 2) is gguf_library.get_tensor_name_map(arch, 2)
        raise RuntimeError("a conversion that fails half way")
    assert gguf_library.GGUFReader is original_reader and gguf_library.get_tensor_name_map is original_map
    assert gguf_library.GGUFReader(gguf) is not gguf_library.GGUFReader(gguf)


def test_a_failed_conversion_leaves_no_cache(cache: Path, gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def dies_halfway(source: Path, target: Path, digest: str, report: object) -> None:
        (target / "model.safetensors").write_bytes(b"half a file")
        raise KeyboardInterrupt  # as if the worker were stopped mid-conversion

    monkeypatch.setattr(hf_gguf_cache, "_convert", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        hf_gguf_cache.ensure_converted(gguf)
    assert hf_gguf_cache.cached_conversion(gguf) is None
    assert list((cache / "models").glob("gguf-*")) == []
    assert list((cache / "models").glob(".tmp-*")) == []


def test_leftovers_of_a_killed_conversion_are_ignored_and_cleaned(cache: Path, gguf: Path) -> None:
    digest = hf_gguf_cache.sha256_file(gguf)
    leftover = cache / "models" / f".tmp-{digest[:16]}-killed"
    leftover.mkdir(parents=True)
    (leftover / "model.safetensors").write_bytes(b"truncated")
    unmarked = cache / "models" / f"gguf-{digest}"  # a folder without the marker is not a cache
    unmarked.mkdir()
    assert hf_gguf_cache.cached_conversion(gguf) is None
    folder = hf_gguf_cache.ensure_converted(gguf)
    assert folder == unmarked and (folder / hf_gguf_cache.MARKER).is_file()
    assert not leftover.exists()


def test_a_changed_file_gets_its_own_cache(cache: Path, gguf: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(gguf.read_bytes())
    assert hf_gguf_cache.ensure_converted(copy) == hf_gguf_cache.ensure_converted(gguf)  # same bytes, one cache
    changed = tmp_path / "changed.gguf"
    changed.write_bytes(gguf.read_bytes() + b"\0" * 32)  # GGUF readers ignore trailing padding
    assert hf_gguf_cache.ensure_converted(changed) != hf_gguf_cache.ensure_converted(gguf)
    assert len(list((cache / "models").glob("gguf-*"))) == 2
