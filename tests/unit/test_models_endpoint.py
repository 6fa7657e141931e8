"""Served-model specs: the ``openai:`` form, the short forms, their options, errors and the canonical text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greentui.core.models.endpoint import SHORT_FORMS, Endpoint, format_count, parse_endpoint, redact_secrets
from greentui.core.models.spec import ModelSpec, SpecError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "openai:http://127.0.0.1:8000/v1?model=smol",
            Endpoint("http://127.0.0.1:8000/v1", "smol"),
        ),
        (
            "openai:HTTP://LocalHost:8000/v1/?model=org/model@main&key_env=MY_KEY&params=1.5B&pid=42&timeout=2.5",
            Endpoint("http://localhost:8000/v1", "org/model@main", "MY_KEY", 1_500_000_000, 42, None, 2.5),
        ),
        ("openai:http://[::1]:9000?model=m", Endpoint("http://[::1]:9000/v1", "m")),
        ("openai:https://api.example.com/v1?model=gpt-x", Endpoint("https://api.example.com/v1", "gpt-x")),
        ("ollama:llama3.2:1b", Endpoint("http://127.0.0.1:11434/v1", "llama3.2:1b")),
        (
            "vllm:Qwen/Qwen2.5-1.5B-Instruct?params=1.5B",
            Endpoint(SHORT_FORMS["vllm"][0], "Qwen/Qwen2.5-1.5B-Instruct", params=1_500_000_000),
        ),
        ("llama-server:q4?tokenizer=./tok", Endpoint("http://127.0.0.1:8080/v1", "q4", tokenizer="./tok")),
        ("openai:http://h:1/v1?model=a%26b%3Fc", Endpoint("http://h:1/v1", "a&b?c")),
    ],
)
def test_parse_examples(text: str, expected: Endpoint) -> None:
    spec = ModelSpec.parse(text)
    assert spec.is_served and spec.kind == "served"
    assert spec.endpoint == expected
    assert ModelSpec.parse(str(spec)) == spec
    assert str(spec).startswith("openai:")  # short forms are written back in full


def test_canonical_text_and_display_name() -> None:
    spec = ModelSpec.parse("ollama:llama3.2:3b?params=3.2B&key_env=OLLAMA_KEY")
    assert str(spec) == "openai:http://127.0.0.1:11434/v1?model=llama3.2:3b&key_env=OLLAMA_KEY&params=3.2B"
    assert spec.display_name == "llama3.2:3b · 127.0.0.1:11434"
    assert ModelSpec.parse("openai:http://h:8000/v1?model=/models/gguf-abc").display_name == "gguf-abc · h:8000"
    assert format_count(134_515_008) == "134515008" and format_count(135_000_000) == "135M"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("openai:http://127.0.0.1:8000/v1", ["model=NAME"]),
        ("openai:http://user:secret@host:8000/v1?model=m", ["key_env"]),
        ("openai:ftp://host/v1?model=m", ["http://"]),
        ("openai:http://host/v1#frag?model=m", ["'#'"]),
        ("openai:http://host:99999/v1?model=m", ["not a URL"]),
        ("openai:http:///v1?model=m", ["no host"]),
        ("openai:http://h/v1?model=m&key_env=sk-123abc", ["environment variable", "not the key"]),
        ("openai:http://h/v1?model=m&params=lots", ["count"]),
        ("openai:http://h/v1?model=m&pid=-3", ["process id"]),
        ("openai:http://h/v1?model=m&timeout=0", ["seconds > 0"]),
        ("openai:http://h/v1?model=m&colour=red", ["unknown endpoint option", "key_env"]),
        ("openai:http://h/v1?model=m&model=n", ["twice"]),
        ("ollama:", ["no model"]),
        ("ollama:x?model=y", ["already named"]),
    ],
)
def test_errors_say_what_is_wrong_in_one_line(text: str, words: list[str]) -> None:
    with pytest.raises(SpecError) as caught:
        ModelSpec.parse(text)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    assert "secret" not in caught.value.message  # a password typed into the URL is not repeated back


@pytest.mark.parametrize(
    "text",
    [
        "openai:http://user:sk-SECRET1@127.0.0.1:8000/v1?model=m",
        "openai:http://sk-SECRET1@127.0.0.1:8000/v1?model=m",
        "openai:http://127.0.0.1:8000/v1?model=m&api_key=sk-SECRET1",
        "openai:http://127.0.0.1:8000/v1?model=m&key=sk-SECRET1&timeout=3",
        "openai:http://127.0.0.1:8000/v1?model=m&Authorization=Bearer%20sk-SECRET1",
        "openai:http://127.0.0.1:8000/v1?model=m&access_token=sk-SECRET1",
        "openai:http://127.0.0.1:8000/v1?model=m&key_env=sk-SECRET1",
        "ollama:llama3.2?api_key=sk-SECRET1",
        "  vllm:Qwen/Qwen2.5-1.5B-Instruct?password=sk-SECRET1",
    ],
)
def test_a_key_typed_into_a_spec_is_never_echoed(text: str) -> None:
    with pytest.raises(SpecError) as caught:
        ModelSpec.parse(text)
    error = caught.value
    for shown in (str(error), error.message, error.pointer):
        assert "SECRET1" not in shown and "sk-" not in shown, shown
    assert "***" in str(error)
    # the caret line under the (masked) spec still points at the same characters
    assert len(error.text) == len(text) and error.pointer.splitlines()[1].strip("^ ") == ""


def test_redaction_leaves_what_is_no_secret() -> None:
    text = "openai:http://127.0.0.1:8000/v1?model=key-master&key_env=OPENAI_API_KEY&tokenizer=./tok&timeout=5"
    assert redact_secrets(text) == text
    with pytest.raises(SpecError, match="unknown endpoint option 'colour=red'"):
        ModelSpec.parse("openai:http://h/v1?model=m&colour=red")


def test_the_key_itself_is_never_part_of_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GT_TEST_KEY", "sk-very-secret")
    spec = ModelSpec.parse("openai:http://127.0.0.1:1/v1?model=m&key_env=GT_TEST_KEY")
    assert "sk-very-secret" not in str(spec) and "sk-very-secret" not in spec.display_name


def test_other_sources_are_not_served() -> None:
    for text in ("smollm2-135m@bf16", "Qwen/Qwen2.5-0.5B-Instruct", "./folder", "fake:x?tps=5"):
        spec = ModelSpec.parse(text)
        assert not spec.is_served and spec.endpoint is None


_names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_categories=("Cc", "Zs")),
    min_size=1,
    max_size=12,
)


@st.composite
def _endpoints(draw: st.DrawFn) -> Endpoint:
    host = draw(st.sampled_from(["127.0.0.1", "localhost", "[::1]", "gpu-box.example", "10.0.0.7"]))
    port = draw(st.one_of(st.none(), st.integers(1, 65535)))
    path = draw(st.sampled_from(["/v1", "/api/v1", "/openai/v1"]))
    base = f"{draw(st.sampled_from(['http', 'https']))}://{host}{'' if port is None else f':{port}'}{path}"
    return Endpoint(
        base_url=base,
        model=draw(_names),
        key_env=draw(st.one_of(st.none(), st.sampled_from(["KEY", "OPENAI_API_KEY", "_k2"]))),
        params=draw(st.one_of(st.none(), st.integers(1, 10**12))),
        pid=draw(st.one_of(st.none(), st.integers(1, 4_000_000))),
        tokenizer=draw(st.one_of(st.none(), _names)),
        timeout_s=draw(st.one_of(st.none(), st.floats(0.001, 86_400, allow_nan=False))),
    )


@settings(max_examples=300, deadline=None)
@given(_endpoints())
def test_round_trip(endpoint: Endpoint) -> None:
    assert parse_endpoint(endpoint.text) == endpoint
    spec = ModelSpec.parse(endpoint.text)
    assert ModelSpec.parse(str(spec)) == spec and spec.endpoint == endpoint
