"""The fake backend: deterministic right/wrong answers, real-time token pacing, and its failure switches, through
the same worker protocol as a real model (inline here; the spawned process path is in test_models_worker.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from greentui.core.models.fake import FakeBackend, is_correct, split_tokens, wrong_answer
from greentui.core.models.protocol import Generated, GenerateRequest, Loaded, LoadProgress, Token, WorkerFailed
from greentui.core.models.spec import ModelSpec
from greentui.core.models.worker import ModelWorker
from greentui.core.records import Prompt

PROMPT = Prompt(({"role": "user", "content": "What is 2+3?"},), "What is 2+3?")


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENTUI_CACHE_DIR", str(tmp_path / "cache"))


def _run(
    spec: str, hints: list[str], *, max_new_tokens: int = 64, stop: tuple[str, ...] = ()
) -> tuple[list[object], list[Generated | WorkerFailed]]:
    worker = ModelWorker("A", ModelSpec.parse(spec), inline=True, load_timeout_s=5)
    worker.start()
    messages: list[object] = []
    results: list[Generated | WorkerFailed] = []
    try:
        while not isinstance(message := worker.poll(5), (Loaded, WorkerFailed)):
            assert message is not None, "load never finished"
            messages.append(message)
        messages.append(message)
        if isinstance(message, WorkerFailed):
            return messages, [message]
        for index, hint in enumerate(hints):
            worker.generate(GenerateRequest(f"item-{index}", PROMPT, max_new_tokens, stop=stop, hint=hint))
            while not isinstance(message := worker.poll(5), (Generated, WorkerFailed)):
                assert message is not None, "generation never finished"
                messages.append(message)
            results.append(message)
            if isinstance(message, WorkerFailed):
                break
    finally:
        worker.stop()
    assert not worker.alive
    return messages, results


def test_oracle_answers_with_the_reference_and_streams_tokens() -> None:
    messages, results = _run("fake:oracle?tps=500&tokens=6", ["five", "The answer is 5."])
    assert isinstance(messages[0], LoadProgress)
    loaded = next(m for m in messages if isinstance(m, Loaded))
    assert loaded.info.params_total == 135_000_000 and loaded.info.params_trainable == 135_000_000
    assert [r.text for r in results] == ["five", "The answer is 5."]  # type: ignore[union-attr]
    tokens = [m for m in messages if isinstance(m, Token) and m.request_id == "item-1"]
    assert [t.n_tokens for t in tokens] == [1, 2, 3, 4, 5, 6]
    assert "".join(t.text for t in tokens) == "The answer is 5."
    second = results[1]
    assert isinstance(second, Generated)
    assert second.tokens_out == 6 and second.stop_reason == "eos"
    assert second.first_token_mono_s == tokens[0].t_mono_s and second.last_token_mono_s == tokens[-1].t_mono_s
    assert second.started_mono_s <= second.first_token_mono_s <= second.last_token_mono_s <= second.ended_mono_s
    assert second.ttft_s is not None and second.decode_tokens_per_s is not None and second.e2e_tokens_per_s


def test_accuracy_is_deterministic_and_close_to_the_option() -> None:
    draws = [is_correct(f"item-{i}", 1, 0.8) for i in range(2000)]
    assert draws == [is_correct(f"item-{i}", 1, 0.8) for i in range(2000)]
    assert 0.75 < sum(draws) / len(draws) < 0.85
    assert draws != [is_correct(f"item-{i}", 2, 0.8) for i in range(2000)]
    assert all(is_correct(f"x{i}", 0, 1.0) for i in range(100))
    assert not any(is_correct(f"x{i}", 0, 0.0) for i in range(100))


def test_wrong_answers_are_plausible_and_wrong() -> None:
    rng = random.Random(0)
    for reference in ["5", "12.5", "positive", "Yes", "true", "B", "SELECT name FROM users WHERE age > 3", "cat"]:
        wrong = wrong_answer(reference, rng)
        assert wrong and wrong != reference
    assert wrong_answer("negative", rng) in ("positive", "neutral")
    assert wrong_answer("7", rng).lstrip("-").isdigit()


def test_inaccurate_model_gets_some_wrong() -> None:
    hints = [str(i) for i in range(20)]
    _, results = _run("fake:meh?tps=2000&accuracy=0.5&seed=3", hints)
    right = sum(r.text == h for r, h in zip(results, hints))  # type: ignore[union-attr]
    expected = sum(is_correct(f"item-{i}", 3, 0.5) for i in range(20))
    assert right == expected and 0 < right < 20


def test_max_new_tokens_and_stop_strings() -> None:
    _, results = _run("fake:o?tps=2000", ["one two three four five"], max_new_tokens=2)
    assert results[0].text == "one two" and results[0].stop_reason == "max-tokens"  # type: ignore[union-attr]
    _, results = _run("fake:o?tps=2000", ["one two. three four"], stop=(".",))
    assert results[0].text == "one two" and results[0].stop_reason == "stop-string"  # type: ignore[union-attr]


def test_split_tokens_keeps_the_text() -> None:
    assert "".join(split_tokens("The answer is 5.", None)) == "The answer is 5."
    assert split_tokens("abcdefg", 3) == ["abc", "de", "fg"]
    assert split_tokens("ab", 4) == ["a", "b", "", ""]


@pytest.mark.parametrize(
    ("options", "failure", "words"),
    [
        ("crash_after=1", "crash", "fake crash"),
        ("oom_after=1", "oom", "out of memory"),
        ("exit_after=1", "crash", "exit code 3"),
    ],
)
def test_failures_mid_item(options: str, failure: str, words: str) -> None:
    messages, results = _run(f"fake:f?tps=2000&tokens=8&{options}", ["first answer", "second answer"])
    assert isinstance(results[0], Generated)
    last = results[-1]
    assert isinstance(last, WorkerFailed) and last.failure == failure and words in last.reason
    partial = [m for m in messages if isinstance(m, Token) and m.request_id == "item-1"]
    assert 0 < len(partial) < 8  # it died mid-item, after some tokens


def test_fail_load_and_hang_load() -> None:
    _, results = _run("fake:f?fail_load=weights%20corrupt", [])
    assert results == [WorkerFailed("load", "weights corrupt", results[0].detail)]  # type: ignore[union-attr]
    worker = ModelWorker("B", ModelSpec.parse("fake:f?hang_load=1"), inline=True, load_timeout_s=0.3)
    worker.start()
    message = worker.poll(None)
    while isinstance(message, LoadProgress):
        message = worker.poll(None)
    assert message == WorkerFailed("timeout", "loading took longer than 0.3 s")
    assert worker.poll(0) == message  # a failure is final
    worker.stop()
    assert not worker.alive


def test_adapter_and_stated_sizes() -> None:
    backend = FakeBackend(ModelSpec.parse("fake:ft?params=1.5B&trainable=2M@nf4+adapter=./lora"))
    info = backend.load(lambda stage, fraction: None)
    assert info.params_trainable == 2_000_000
    assert info.params_total == 1_502_000_000
    assert info.weight_bytes == 750_000_000 and info.quant == "nf4"


def test_stop_cancels_a_generation_in_flight() -> None:
    worker = ModelWorker("A", ModelSpec.parse("fake:slow?tps=2&tokens=50&ttft_s=0"), inline=True)
    worker.start()
    while not isinstance(worker.poll(5), Loaded):
        pass
    worker.generate(GenerateRequest("r", PROMPT, 64, hint="x" * 50))
    assert isinstance(worker.poll(5), Token)
    worker.stop(timeout_s=2)
    assert not worker.alive


def test_fixed_length_runs_to_the_limit_past_stop_strings() -> None:
    backend = FakeBackend(ModelSpec.parse("fake:o?tps=5000"))
    pieces: list[Token] = []
    request = GenerateRequest("r", PROMPT, 9, stop=("two",), hint="one two three", fixed_length=True)
    result = backend.generate(request, pieces.append)
    assert result.tokens_out == 9 == len(pieces) and result.stop_reason == "max-tokens"
    assert result.text == "one two three"  # the whole answer: the stop string did not end it
    plain = backend.generate(GenerateRequest("s", PROMPT, 9, stop=("two",), hint="one two three"), lambda t: None)
    assert plain.stop_reason == "stop-string" and plain.tokens_out < 9
