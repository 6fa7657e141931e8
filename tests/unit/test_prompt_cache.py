"""The prompt-prefix cache of the transformers backend (core/models/hf_stream.PromptCache): items that share a long
prompt prefix (a task's system text and few-shot turns) prefill it once, and the answers stay exactly the ones a
full prefill gives; a model whose cache cannot be cropped falls back to full prefills."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from greentui.core.models.protocol import GenerateRequest
from greentui.core.models.spec import ModelSpec
from greentui.core.records import Prompt
from tests.helpers.tiny_models import build_tiny_llama

torch = pytest.importorskip("torch")

SYSTEM = "You answer questions about numbers in one short line, and nothing else. " * 4
QUESTIONS = ["What is 2+3?", "What is 7+1?", "Name a colour.", "How many legs has a cat?", "What is 9-4?"]


def prompt(question: str, system: str = SYSTEM) -> Prompt:
    return Prompt(({"role": "system", "content": system}, {"role": "user", "content": question}), question)


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from greentui.core.models.hf import HFBackend

    tiny = build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-llama")
    loaded = HFBackend(ModelSpec(source=str(tiny), dtype="fp32", device="cpu"))
    loaded.load(lambda stage, fraction: None)
    return loaded


@pytest.fixture(autouse=True)
def fresh_cache(backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from greentui.core.models.hf_stream import PromptCache

    monkeypatch.setenv("GREENTUI_CACHE_DIR", str(tmp_path / "cache"))
    backend.prompt_cache = PromptCache()


def ask(backend: Any, question: str, *, reuse: bool, system: str = SYSTEM) -> tuple[str, int]:
    generated = backend.generate(GenerateRequest("r", prompt(question, system), 16, reuse_prefix=reuse), lambda t: None)
    return generated.text, backend.prompt_cache.reused_tokens


def test_reusing_the_shared_prefix_gives_the_very_answers_of_a_full_prefill(backend: Any) -> None:
    full = [ask(backend, q, reuse=False) for q in QUESTIONS]
    assert {reused for _, reused in full} == {0}  # reuse off: nothing comes from the cache
    cached = [ask(backend, q, reuse=True) for q in QUESTIONS]
    assert [text for text, _ in cached] == [text for text, _ in full]
    # the first item fills the cache with its whole prompt but the last token; the others reuse the tokens they
    # share with that prompt
    from greentui.core.models.hf_stream import encode_prompt

    ids = [encode_prompt(backend.loaded.tokenizer, GenerateRequest("r", prompt(q), 16))[0].tolist() for q in QUESTIONS]
    expected = [len(ids[0]) - 1] + [common_prefix(ids[0], other) for other in ids[1:]]
    assert [reused for _, reused in cached] == expected
    assert min(expected) > 0.9 * len(ids[0])  # the system text is most of the prompt


def common_prefix(first: list[int], second: list[int]) -> int:
    return next((i for i, (a, b) in enumerate(zip(first, second)) if a != b), min(len(first), len(second)))


def test_a_prompt_that_shares_too_little_replaces_the_cache(backend: Any) -> None:
    ask(backend, QUESTIONS[0], reuse=True)
    other = "Reply in French, with a full sentence, to whatever the user writes to you. " * 4
    text, reused = ask(backend, QUESTIONS[1], reuse=True, system=other)
    assert text == ask(backend, QUESTIONS[1], reuse=False, system=other)[0]
    assert reused > 32 and backend.prompt_cache.ids[:5] != []  # filled again from the new prompt
    _, again = ask(backend, QUESTIONS[2], reuse=True, system=other)
    assert 32 <= again < reused  # and the next prompt of that kind reuses it


def test_a_cache_that_cannot_be_cropped_falls_back_to_full_prefills_for_good(
    backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greentui.core.models import hf_stream

    full = ask(backend, QUESTIONS[0], reuse=False)[0]
    monkeypatch.setattr(hf_stream, "_plain_layers", lambda cache: False)  # as for a sliding-window model
    assert ask(backend, QUESTIONS[0], reuse=True) == (full, 0)
    assert backend.prompt_cache.broken and backend.prompt_cache.cache is None
    monkeypatch.undo()
    assert ask(backend, QUESTIONS[1], reuse=True)[1] == 0  # broken stays broken for this model


def test_short_prompts_are_not_cached() -> None:
    from greentui.core.models.hf_stream import PromptCache

    cache = PromptCache()
    model = lambda **kwargs: pytest.fail("a short prompt must not run a prefill")  # noqa: E731
    assert cache.for_prompt(model, torch.tensor([list(range(PromptCache.MIN_SHARED_TOKENS))])) == {}


def test_the_cli_switch_and_the_stored_setting() -> None:
    from greentui.cli import build_parser
    from greentui.cli.running import config_from_args
    from greentui.core.config import SessionConfig

    common = ["run", "--model-a", "fake:fast", "--model-b", "fake:fast", "--task", "arithmetic"]
    assert config_from_args(build_parser().parse_args(common)).prompt_cache is True
    off = config_from_args(build_parser().parse_args([*common, "--no-prompt-cache"]))
    assert off.prompt_cache is False
    assert SessionConfig.from_dict(off.to_dict()).prompt_cache is False  # stored with the session


def test_a_session_stored_before_the_prompt_cache_resumes_without_it() -> None:
    from greentui.core.config import SessionConfig

    stored = SessionConfig("fake:fast", "fake:fast", "arithmetic").to_dict()
    assert SessionConfig.from_stored(stored).prompt_cache is True
    older = {key: value for key, value in stored.items() if key != "prompt_cache"}
    assert SessionConfig.from_stored(older).prompt_cache is False  # it prefilled whole prompts: a resume goes on so
