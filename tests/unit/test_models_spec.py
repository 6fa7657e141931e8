"""ModelSpec: the short text form, its strict parser and the round trip parse(str(spec)) == spec."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greentui.core.models import architectures, catalog
from greentui.core.models.endpoint import parse_count
from greentui.core.models.fake_options import FAKE_OPTIONS
from greentui.core.models.spec import ModelSpec, SpecError, device_problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smollm2-135m", ModelSpec("smollm2-135m")),
        ("smollm2-135m@bf16", ModelSpec("smollm2-135m", dtype="bf16")),
        ("SmolLM2-135M@DINT8", ModelSpec("smollm2-135m", quant="dynamic-int8")),
        ("Qwen/Qwen2.5-1.5B-Instruct@nf4", ModelSpec("Qwen/Qwen2.5-1.5B-Instruct", quant="nf4")),
        (
            "Qwen/Qwen2.5-0.5B-Instruct#main@cuda:1,fp4,bf16",
            ModelSpec("Qwen/Qwen2.5-0.5B-Instruct", revision="main", dtype="bf16", quant="fp4", device="cuda:1"),
        ),
        ("./my-model", ModelSpec("./my-model")),
        ("/models/base@fp32,cpu", ModelSpec("/models/base", dtype="fp32", device="cpu")),
        ("file.gguf", ModelSpec("file.gguf")),
        ("./runs@2024/model@bf16", ModelSpec("./runs@2024/model", dtype="bf16")),
        ("smollm2-135m+adapter=./lora", ModelSpec("smollm2-135m", adapter="./lora")),
        ("qwen2.5-0.5b@nf4+adapter=org/my-lora", ModelSpec("qwen2.5-0.5b", quant="nf4", adapter="org/my-lora")),
        ("fake:oracle?tps=200&accuracy=0.8", ModelSpec("fake:oracle?tps=200&accuracy=0.8")),
        ("  smollm2-135m@bf16 ", ModelSpec("smollm2-135m", dtype="bf16")),
        ("smollm2-135m@bf16, cpu", ModelSpec("smollm2-135m", dtype="bf16", device="cpu")),
    ],
)
def test_parse_examples(text: str, expected: ModelSpec) -> None:
    spec = ModelSpec.parse(text)
    assert spec == expected
    assert ModelSpec.parse(str(spec)) == spec


def test_text_form_is_canonical() -> None:
    assert str(ModelSpec.parse("a/b#v1@cuda,nf4,bf16+adapter=./x")) == "a/b#v1@bf16,nf4,cuda+adapter=./x"
    assert str(ModelSpec.parse("smollm2-135m@dynamic-int8")) == "smollm2-135m@dint8"


@pytest.mark.parametrize(
    ("text", "words", "bad_part"),
    [
        ("smollm2-135m@bf61", ["unknown option 'bf61'", "did you mean bf16"], "bf61"),
        ("smollm2-135", ["unknown model", "did you mean smollm2-135m"], "smollm2-135"),
        ("smollm2-135m@fp16,cpu", ["fp16 on cpu is not supported: use fp32 or bf16"], "fp16,cpu"),
        ("smollm2-135m@dint8,cuda", ["dint8", "cuda", "use int8 or nf4"], "dint8,cuda"),
        ("smollm2-135m@dint8,bf16", ["dint8 with bf16"], "dint8,bf16"),
        ("a/b@bf16,fp16", ["two dtypes"], "fp16"),
        ("a/b@nf4,int8", ["two quantizations"], "int8"),
        ("a/b@cpu,cuda", ["two devices"], "cuda"),
        ("a/b@", ["no options after '@'"], "@"),
        ("a/b@bf16#main", ["revision goes before the options"], "@bf16#main"),
        ("smollm2-135m#main", ["applies to hub models only"], "#main"),
        ("./x.gguf#v2", ["applies to hub models only"], "#v2"),
        ("a/b+adapter=", ["no adapter path"], "+adapter="),
        ("a/b+adaptor=./x", ["'+adaptor='"], "+adaptor="),
        ("a/b+adapter=./x+adapter=./y", ["only one adapter"], "+adapter=./y"),
        ("a--b/c", ["not a valid Hugging Face hub id"], "a--b/c"),
        ("fake:oracle?tpss=3", ["unknown fake option 'tpss=3'"], "tpss=3"),
        ("fake:oracle?accuracy=2", ["accuracy", "[0, 1]"], "accuracy=2"),
        ("fake:oracle?tps=1&tps=2", ["given twice"], "tps=2"),
        ("fake:bad name", ["fake:NAME"], "fake:bad name"),
        ("", ["empty model spec"], ""),
    ],
)
def test_errors_name_and_point_at_the_bad_part(text: str, words: list[str], bad_part: str) -> None:
    with pytest.raises(SpecError) as caught:
        ModelSpec.parse(text)
    error = caught.value
    message = str(error)
    assert "\n" not in message
    for word in words:
        assert word in message
    underlined = error.text[error.start : error.end]
    if bad_part:
        assert underlined == bad_part
    lines = error.pointer.splitlines()
    assert lines[0] == text
    if bad_part:
        assert lines[1].index("^") == error.start


def test_base_drops_only_the_adapter() -> None:
    spec = ModelSpec.parse("qwen2.5-0.5b#main@bf16,cpu+adapter=./lora")
    assert spec.base() == ModelSpec.parse("qwen2.5-0.5b#main@bf16,cpu")


def test_display_names() -> None:
    assert ModelSpec.parse("smollm2-135m@nf4").display_name == "SmolLM2-135M-Instruct@nf4"
    assert ModelSpec.parse("Qwen/Qwen2.5-1.5B-Instruct").display_name == "Qwen2.5-1.5B-Instruct"
    assert ModelSpec.parse("./models/x.Q4_K_M.gguf").display_name == "x.Q4_K_M"
    assert ModelSpec.parse("./base+adapter=./out/lora-sst2/").display_name == "base + lora-sst2"
    assert ModelSpec.parse("fake:oracle?tps=5").display_name == "fake:oracle"


def test_direct_construction_is_checked() -> None:
    with pytest.raises(SpecError):
        ModelSpec("x/y", dtype="fp8")  # type: ignore[arg-type]
    with pytest.raises(SpecError):
        ModelSpec("x/y", device="tpu")


def test_fake_options_are_decoded() -> None:
    spec = ModelSpec.parse("fake:x?fail_load=no%20memory&params=1.5B")
    assert spec.fake_options() == {"fail_load": "no memory", "params": "1.5B"}
    assert parse_count("1.5B") == 1_500_000_000 and parse_count("135M") == 135_000_000
    assert parse_count("lots") is None


def test_device_problem() -> None:
    assert device_problem("fp16", "none", "cpu") == "fp16 on cpu is not supported: use fp32 or bf16"
    assert device_problem("fp16", "none", "cuda:0") is None
    assert device_problem("fp32", "nf4", "cpu") is None


# ------------------------------------------------------------------------------------------------
# Property: every valid spec survives str() -> parse().

_word = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=8)
_hub_ids = st.builds(lambda org, name: f"{org}/{name}", _word, _word.map(lambda w: f"m-{w}.v1"))
_locals = st.builds(lambda a, b: f"./{a}/{b}", _word, _word)
_ggufs = _word.map(lambda w: f"./{w}.Q4_1.gguf")
_catalog = st.sampled_from([entry.name for entry in catalog.ENTRIES])
_randoms = st.sampled_from([f"random:{arch.name}" for arch in architectures.ARCHITECTURES])
_fake_values = {
    "tps": st.sampled_from(["1", "200", "37.5"]),
    "accuracy": st.sampled_from(["0", "0.8", "1"]),
    "tokens": st.sampled_from(["1", "20"]),
    "seed": st.sampled_from(["0", "7"]),
    "load_s": st.sampled_from(["0", "0.2"]),
    "fail_load": _word,
    "hang_load": st.sampled_from(["1", "0"]),
    "params": st.sampled_from(["135M", "1.5B", "500K"]),
}


@st.composite
def _fakes(draw: st.DrawFn) -> str:
    keys = draw(st.lists(st.sampled_from(sorted(_fake_values)), unique=True, max_size=4))
    query = "&".join(f"{key}={draw(_fake_values[key])}" for key in keys)
    assert all(key in FAKE_OPTIONS for key in keys)
    return f"fake:{draw(_word)}" + (f"?{query}" if query else "")


@st.composite
def _specs(draw: st.DrawFn) -> ModelSpec:
    source = draw(st.one_of(_hub_ids, _locals, _ggufs, _catalog, _fakes(), _randoms))
    revision_ok = source in [e.name for e in catalog.ENTRIES if e.offline_gguf is None] or (
        "/" in source and not source.startswith("./")
    )
    revision = (
        draw(st.one_of(st.none(), st.sampled_from(["main", "v1.0", "refs/pr/1", "0123abcd"]))) if revision_ok else None
    )
    quant = draw(st.sampled_from(["none", "int8", "nf4", "fp4", "dynamic-int8"]))
    if quant == "dynamic-int8":
        dtype = draw(st.sampled_from(["auto", "fp32"]))
        device = draw(st.sampled_from(["auto", "cpu"]))
    else:
        dtype = draw(st.sampled_from(["auto", "fp32", "bf16", "fp16"]))
        devices = ["auto", "cuda", "cuda:1"] + ([] if dtype == "fp16" else ["cpu"])
        device = draw(st.sampled_from(devices))
    adapter = draw(st.one_of(st.none(), _locals, _hub_ids))
    return ModelSpec(source, revision, dtype, quant, adapter, device)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(_specs())
def test_round_trip(spec: ModelSpec) -> None:
    text = str(spec)
    assert ModelSpec.parse(text) == spec
    assert str(ModelSpec.parse(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_never_fails_with_anything_but_spec_error(text: str) -> None:
    try:
        spec = ModelSpec.parse(text)
    except SpecError as error:
        assert "\n" not in str(error)
    else:
        assert ModelSpec.parse(str(spec)) == spec
