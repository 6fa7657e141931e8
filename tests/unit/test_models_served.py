"""The served backend against a loopback server of canned chunks: streaming, token counts, and every failure as one
line naming the endpoint. Only 127.0.0.1 is ever contacted."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greentui.core.models.protocol import Generated, GenerateRequest, Loaded, Token, WorkerFailed
from greentui.core.models.served import (
    TOKENS_COUNTED,
    TOKENS_FROM_SERVER,
    TOKENS_NOT_REPORTED,
    ServedBackend,
    ServerFailed,
)
from greentui.core.models.spec import ModelSpec
from greentui.core.models.worker import ModelWorker
from greentui.core.records import Prompt
from tests.helpers.openai_server import ANSWER, CannedServer, start_server

PROMPT = Prompt(
    (
        {"role": "system", "content": "Answer on one line."},
        {"role": "user", "content": "Question: 3 + 4?"},
        {"role": "assistant", "content": "3 + 4 = 7. The answer is 7."},
        {"role": "user", "content": "Question: 2 + 5?"},
    ),
    "Question: 2 + 5?",
)


@pytest.fixture()
def server() -> Iterator[CannedServer]:
    canned = start_server()
    yield canned
    canned.shutdown()
    canned.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def backend(spec_text: str) -> ServedBackend:
    return ServedBackend(ModelSpec.parse(spec_text))


def load(spec_text: str) -> tuple[ServedBackend, list[str]]:
    stages: list[str] = []
    served = backend(spec_text)
    served.load(lambda stage, fraction: stages.append(stage))
    return served, stages


def generate(served: ServedBackend, **request: object) -> tuple[Generated, list[Token]]:
    tokens: list[Token] = []
    fields = {"request_id": "item-1", "prompt": PROMPT, "max_new_tokens": 48, **request}
    result = served.generate(GenerateRequest(**fields), tokens.append)  # type: ignore[arg-type]
    return result, tokens


def test_streams_an_answer_with_the_servers_token_counts(server: CannedServer) -> None:
    served, stages = load(server.spec("ok", params="135M"))
    try:
        assert any("warming up" in stage for stage in stages)
        result, tokens = generate(served, stop=("\n",))
    finally:
        served.close()
    assert result.text == ANSWER and "".join(t.text for t in tokens) == ANSWER
    assert [t.n_tokens for t in tokens] == list(range(1, len(ANSWER.split()) + 1))
    assert result.tokens_counted_by == TOKENS_FROM_SERVER
    assert result.tokens_out == len(ANSWER.split()) + 1  # what the server's usage said, eos included
    assert result.tokens_in == sum(len(m["content"].split()) for m in PROMPT.messages)
    assert result.ttft_s is not None and 0 < result.ttft_s < result.seconds
    assert result.first_token_mono_s == tokens[0].t_mono_s and result.last_token_mono_s is not None
    assert result.decode_tokens_per_s is not None and result.stop_reason == "eos"
    body = server.requests[-1]
    assert body["messages"] == [dict(m) for m in PROMPT.messages]  # the same messages as in process
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.0 and "seed" not in body  # greedy
    assert body["max_tokens"] == 48 and body["stop"] == ["\n"]
    assert server.requests[0]["max_tokens"] == 1  # the warm-up at load


def test_load_reports_what_is_known_of_a_served_model(server: CannedServer) -> None:
    served = backend(server.spec("ok", params="1.5B"))
    info = served.load(lambda *_: None)
    served.close()
    assert info.params_total == info.params_trainable == 1_500_000_000
    assert info.device == f"127.0.0.1:{server.port}" and info.dtype == "as served" and info.weight_bytes is None
    served = backend(server.spec("ok"))
    assert served.load(lambda *_: None).params_total is None  # unknown, never 0
    served.close()


def test_seeded_sampling_sends_the_seed(server: CannedServer) -> None:
    served, _ = load(server.spec("ok"))
    generate(served, seed=7)
    served.close()
    assert server.requests[-1]["seed"] == 7 and "temperature" not in server.requests[-1]


def test_stop_strings_cut_the_text_even_when_the_server_keeps_them() -> None:
    canned = start_server(answer="The answer is 7.\nQuestion: next")
    try:
        served, _ = load(canned.spec("ok"))
        result, _ = generate(served, stop=("\n",))
        served.close()
    finally:
        canned.shutdown()
        canned.server_close()
    assert result.text == "The answer is 7." and result.stop_reason == "stop-string"


def test_without_usage_the_counts_are_not_reported(server: CannedServer) -> None:
    served, _ = load(server.spec("ok-no-usage"))
    result, tokens = generate(served)
    served.close()
    assert result.tokens_out is None and result.tokens_in is None  # never 0
    assert result.tokens_counted_by == TOKENS_NOT_REPORTED
    assert result.decode_tokens_per_s is None and result.e2e_tokens_per_s is None
    assert result.ttft_s is not None and tokens


def test_without_usage_a_local_tokenizer_counts(server: CannedServer, tmp_path: Path) -> None:
    from tests.helpers.tiny_models import build_tiny_tokenizer

    folder = tmp_path / "tok"
    build_tiny_tokenizer().save_pretrained(folder)
    served, stages = load(server.spec("ok-no-usage", tokenizer=str(folder)))
    result, _ = generate(served)
    served.close()
    assert any("tokenizer" in stage for stage in stages)
    assert result.tokens_counted_by == TOKENS_COUNTED
    assert isinstance(result.tokens_out, int) and result.tokens_out > 0
    assert isinstance(result.tokens_in, int) and result.tokens_in > result.tokens_out


def test_the_api_key_comes_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    canned = start_server(key="sk-test-123")
    try:
        monkeypatch.setenv("GT_KEY", "sk-test-123")
        served, _ = load(canned.spec("auth", key_env="GT_KEY"))
        result, _ = generate(served)
        served.close()
        assert result.text == ANSWER
        monkeypatch.setenv("GT_KEY", "sk-wrong")
        with pytest.raises(ServerFailed) as refused:
            load(canned.spec("auth", key_env="GT_KEY"))
        assert "API key was refused (HTTP 401)" in refused.value.reason and "GT_KEY" in refused.value.reason
        assert "sk-wrong" not in refused.value.reason
        monkeypatch.delenv("GT_KEY")
        with pytest.raises(ServerFailed, match=r"GT_KEY .* is not set"):
            load(canned.spec("auth", key_env="GT_KEY"))
        with pytest.raises(ServerFailed, match="add key_env=VAR"):
            load(canned.spec("auth"))
    finally:
        canned.shutdown()
        canned.server_close()


def _one_line(exc: ServerFailed, address: str) -> str:
    reason = exc.reason
    assert "\n" not in reason and reason.startswith(f"server {address}: ") and "Traceback" not in reason
    return reason


@pytest.mark.parametrize(
    ("model", "words", "failure"),
    [
        ("missing", ["no model 'missing'", "HTTP 404"], "server"),
        ("error500", ["server error (HTTP 500: CUDA error", "illegal memory access"], "server"),
    ],
)
def test_load_failures_are_one_line(server: CannedServer, model: str, words: list[str], failure: str) -> None:
    with pytest.raises(ServerFailed) as caught:
        load(server.spec(model))
    reason = _one_line(caught.value, f"127.0.0.1:{server.port}")
    assert all(word in reason for word in words) and caught.value.failure == failure


def test_a_refused_connection_is_one_line() -> None:
    port = free_port()
    with pytest.raises(ServerFailed) as caught:
        load(f"openai:http://127.0.0.1:{port}/v1?model=ok")
    assert "connection refused" in _one_line(caught.value, f"127.0.0.1:{port}")
    assert caught.value.failure == "unavailable"


def test_a_wrong_path_is_one_line(server: CannedServer) -> None:
    with pytest.raises(ServerFailed) as caught:
        load(f"openai:http://127.0.0.1:{server.port}/api?model=ok")
    assert "no such route (HTTP 404)" in _one_line(caught.value, f"127.0.0.1:{server.port}")


@pytest.mark.parametrize(
    ("model", "options", "words", "failure"),
    [
        ("slow", {"timeout": "0.3"}, ["no answer for 0.3 s", "timeout="], "timeout"),
        ("malformed", {}, ["malformed stream", "not JSON"], "server"),
        ("cut", {}, ["connection was lost mid-answer after 2 chunk(s)"], "server"),
        ("cut-clean", {}, ["stream was cut off after 2 chunk(s)"], "server"),
        ("error-event", {}, ["reported an error mid-answer", "index out of range"], "server"),
    ],
)
def test_generation_failures_are_one_line(
    server: CannedServer, model: str, options: dict[str, str], words: list[str], failure: str
) -> None:
    served, _ = load(server.spec(model, **options))
    try:
        with pytest.raises(ServerFailed) as caught:
            generate(served)
    finally:
        served.close()
    reason = _one_line(caught.value, f"127.0.0.1:{server.port}")
    assert all(word in reason for word in words), reason
    assert caught.value.failure == failure


def test_a_server_that_dies_mid_item_fails_that_item_and_refuses_the_next(server: CannedServer) -> None:
    served, _ = load(server.spec("die-after-1"))
    try:
        first, _ = generate(served)
        assert first.text == ANSWER
        with pytest.raises(ServerFailed) as died:
            generate(served)
        assert "lost mid-answer" in _one_line(died.value, f"127.0.0.1:{server.port}")
        with pytest.raises(ServerFailed) as gone:
            generate(served)
        assert "connection refused" in gone.value.reason
    finally:
        served.close()


def test_cancel_ends_the_answer_early(server: CannedServer) -> None:
    served, _ = load(server.spec("ok"))
    tokens: list[Token] = []

    def cancel_after_first(token: Token) -> None:
        tokens.append(token)
        served.cancel.set()

    result = served.generate(GenerateRequest("x", PROMPT, 48), cancel_after_first)
    served.close()
    assert result.stop_reason == "cancelled" and len(tokens) == 1


# ---- through a spawned worker process, as the session runs it -----------------------------------------


def test_a_spawned_worker_streams_from_the_server_without_torch(server: CannedServer, tmp_path: Path) -> None:
    worker = ModelWorker("B", ModelSpec.parse(server.spec("ok")), load_timeout_s=60)
    worker.start()
    try:
        loaded = worker.poll(60)
        while loaded is not None and not isinstance(loaded, (Loaded, WorkerFailed)):
            loaded = worker.poll(60)
        assert isinstance(loaded, Loaded), loaded
        worker.generate(GenerateRequest("item-1", PROMPT, 48))
        message = worker.poll(30)
        while isinstance(message, Token):
            message = worker.poll(30)
        assert isinstance(message, Generated) and message.text == ANSWER
        assert message.tokens_counted_by == TOKENS_FROM_SERVER
    finally:
        worker.stop()


def test_a_spawned_worker_reports_a_server_failure_in_one_line(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.openai_server"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        port = int(process.stdout.readline())  # type: ignore[union-attr]
        worker = ModelWorker("B", ModelSpec.parse(f"openai:http://127.0.0.1:{port}/v1?model=ok"), load_timeout_s=60)
        worker.start()
        try:
            message = worker.poll(60)
            while message is not None and not isinstance(message, (Loaded, WorkerFailed)):
                message = worker.poll(60)
            assert isinstance(message, Loaded), message
            process.kill()  # the server dies
            process.wait(10)
            time.sleep(0.1)
            worker.generate(GenerateRequest("item-1", PROMPT, 48))
            failed = worker.poll(30)
            while isinstance(failed, Token):
                failed = worker.poll(30)
            assert isinstance(failed, WorkerFailed), failed
            assert failed.failure == "unavailable" and "\n" not in failed.reason
            assert failed.reason == f"server 127.0.0.1:{port}: connection refused (is the server running?)"
        finally:
            worker.stop()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_the_served_backend_imports_no_torch() -> None:
    code = (
        "import sys, greentui.core.models.served, greentui.core.measure.server_process\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
