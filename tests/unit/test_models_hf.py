"""The Hugging Face backend on a tiny random Llama: loading in each dtype and quantization, parameter and byte
counts, a PEFT LoRA adapter, streaming, stop strings, sampling, and the one-line load errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import psutil
import pytest

from greentui.core.models.protocol import Generated, GenerateRequest, Loaded, LoadProgress, Token, WorkerFailed
from greentui.core.models.spec import ModelSpec
from greentui.core.models.worker import ModelWorker
from greentui.core.records import Prompt
from tests.helpers.tiny_models import HEADS, HIDDEN, INTERMEDIATE, KV_HEADS, LAYERS, build_tiny_llama

torch = pytest.importorskip("torch")

PROMPT = Prompt(({"role": "user", "content": "What is 2+3?"},), "What is 2+3?")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-llama")


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENTUI_CACHE_DIR", str(tmp_path / "cache"))


def _expected_params() -> int:
    from tests.helpers.tiny_models import build_tiny_tokenizer

    vocab = len(build_tiny_tokenizer())
    head_dim = HIDDEN // HEADS
    attention = HIDDEN * HIDDEN * 2 + HIDDEN * KV_HEADS * head_dim * 2
    mlp = 3 * HIDDEN * INTERMEDIATE
    norms = 2 * HIDDEN
    return vocab * HIDDEN + LAYERS * (attention + mlp + norms) + HIDDEN  # tied lm_head counted once


class Session:
    """A worker plus helpers to load and run requests to completion."""

    def __init__(self, spec: str, *, inline: bool = True, trust_remote_code: bool = False) -> None:
        self.worker = ModelWorker(
            "A", ModelSpec.parse(spec), inline=inline, load_timeout_s=120, trust_remote_code=trust_remote_code
        )
        self.worker.start()
        self.progress: list[LoadProgress] = []
        message = self.worker.poll(120)
        while isinstance(message, LoadProgress):
            self.progress.append(message)
            message = self.worker.poll(120)
        self.loaded = message

    def ask(self, request: GenerateRequest) -> tuple[Generated | WorkerFailed, list[Token]]:
        self.worker.generate(request)
        tokens: list[Token] = []
        while isinstance(message := self.worker.poll(60), Token):
            tokens.append(message)
        assert isinstance(message, (Generated, WorkerFailed))
        return message, tokens

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.worker.stop()


def test_fp32_load_counts_and_streaming(tiny: Path) -> None:
    with Session(str(tiny)) as session:
        assert isinstance(session.loaded, Loaded), session.loaded
        info = session.loaded.info
        assert info.params_total == _expected_params() == info.params_trainable
        assert info.weight_bytes == info.params_total * 4
        assert (info.dtype, info.quant, info.device) == ("fp32", "none", "cpu")
        assert info.peak_rss_bytes and info.peak_cuda_bytes is None and info.load_s > 0
        assert session.progress and session.progress[-1].stage == "ready"
        result, tokens = session.ask(GenerateRequest("r1", PROMPT, 24))
        assert isinstance(result, Generated)
        assert result.tokens_out == 24 == max(t.n_tokens for t in tokens)
        assert [t.n_tokens for t in tokens][:24] == list(range(1, 25))
        assert "".join(t.text for t in tokens) == result.text
        assert result.stop_reason == "max-tokens" and result.tokens_in > 5
        assert result.first_token_mono_s == tokens[0].t_mono_s
        assert result.started_mono_s < result.first_token_mono_s <= result.last_token_mono_s <= result.ended_mono_s
        again, _ = session.ask(GenerateRequest("r2", PROMPT, 24))
        assert again.text == result.text  # greedy is deterministic  # type: ignore[union-attr]


def test_bf16_and_dynamic_int8(tiny: Path) -> None:
    with Session(f"{tiny}@bf16") as session:
        info = session.loaded.info  # type: ignore[union-attr]
        assert info.dtype == "bf16" and info.weight_bytes == _expected_params() * 2
        assert isinstance(session.ask(GenerateRequest("r", PROMPT, 8))[0], Generated)
    with Session(f"{tiny}@dint8") as session:
        info = session.loaded.info  # type: ignore[union-attr]
        assert info.quant == "dynamic-int8" and info.params_total == _expected_params()
        # Linear weights shrink to one byte each; the (tied) embedding stays fp32 and lm_head gets an int8 copy.
        assert info.weight_bytes < _expected_params() * 4
        result, tokens = session.ask(GenerateRequest("r", PROMPT, 8))
        assert isinstance(result, Generated) and result.tokens_out == 8 and len(tokens) >= 8


def test_bitsandbytes_nf4_on_cpu(tiny: Path) -> None:
    pytest.importorskip("bitsandbytes")
    with Session(f"{tiny}@nf4") as session:
        assert isinstance(session.loaded, Loaded), session.loaded
        info = session.loaded.info
        assert info.quant == "nf4" and info.params_total == _expected_params()  # logical count, not packed
        assert info.weight_bytes < _expected_params() * 4
        assert isinstance(session.ask(GenerateRequest("r", PROMPT, 6))[0], Generated)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # peft calls a transformers method deprecated in v5
def test_lora_adapter_reports_its_trainable_parameters(tiny: Path, tmp_path: Path) -> None:
    peft = pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM

    rank = 4
    base = AutoModelForCausalLM.from_pretrained(tiny)
    shapes = [
        (m.in_features, m.out_features)
        for name, m in base.named_modules()
        if name.endswith(("q_proj", "v_proj")) and isinstance(m, torch.nn.Linear)
    ]
    config = peft.LoraConfig(
        r=rank, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM", init_lora_weights=False
    )  # random B: the adapter must change the output
    adapted = peft.get_peft_model(base, config)
    adapter_dir = tmp_path / "lora"
    adapted.save_pretrained(adapter_dir)
    expected = sum(rank * (fan_in + fan_out) for fan_in, fan_out in shapes)
    assert len(shapes) == 2 * LAYERS and expected == LAYERS * rank * (64 + 64 + 64 + 32)

    with Session(str(tiny)) as plain:
        base_result, _ = plain.ask(GenerateRequest("r", PROMPT, 16))
    with Session(f"{tiny}+adapter={adapter_dir}") as session:
        assert isinstance(session.loaded, Loaded), session.loaded
        info = session.loaded.info
        assert info.params_trainable == expected
        assert info.params_total == _expected_params() + expected
        assert info.display_name.endswith("+ lora")
        result, _ = session.ask(GenerateRequest("r", PROMPT, 16))
        assert result.text != base_result.text  # type: ignore[union-attr]
    with Session(f"{tiny}@dint8+adapter={adapter_dir}") as merged:  # merged, then quantized
        assert merged.loaded.info.params_trainable == expected  # type: ignore[union-attr]


def test_stop_strings_stop_at_the_right_token(tiny: Path) -> None:
    with Session(str(tiny)) as session:
        full, _ = session.ask(GenerateRequest("r", PROMPT, 40))
        assert isinstance(full, Generated)
        printable = [
            i
            for i in range(2, len(full.text) - 2)
            if full.text[i : i + 2].isascii() and full.text[i : i + 2].isprintable()
        ]
        assert printable, full.text
        stop = full.text[printable[0] : printable[0] + 2]
        cut_at = full.text.index(stop)
        stopped, tokens = session.ask(GenerateRequest("s", PROMPT, 40, stop=(stop,)))
        assert isinstance(stopped, Generated)
        assert stopped.text == full.text[:cut_at] and stopped.stop_reason == "stop-string"
        assert stopped.tokens_out < full.tokens_out and stopped.tokens_out == tokens[-1].n_tokens
        # It stopped on the token that completed the stop string, not one later.
        assert stop in "".join(t.text for t in tokens)
        assert stop not in "".join(t.text for t in tokens[:-1]) or tokens[-1].text == ""


def test_seeded_sampling_is_reproducible(tiny: Path) -> None:
    with Session(str(tiny)) as session:
        first, _ = session.ask(GenerateRequest("a", PROMPT, 20, seed=7))
        second, _ = session.ask(GenerateRequest("b", PROMPT, 20, seed=7))
        other, _ = session.ask(GenerateRequest("c", PROMPT, 20, seed=8))
        assert first.text == second.text  # type: ignore[union-attr]
        assert other.text != first.text  # type: ignore[union-attr]


def test_fp16_on_cpu_says_so(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with Session(f"{tiny}@fp16") as session:
        assert session.loaded == WorkerFailed(
            "unavailable", "fp16 on cpu is not supported: use fp32 or bf16", session.loaded.detail
        )  # type: ignore[union-attr]
    with Session(f"{tiny}@cuda") as session:
        assert session.loaded.failure == "unavailable" and "no CUDA" in session.loaded.reason  # type: ignore


def test_remote_code_needs_the_flag(tiny: Path, tmp_path: Path) -> None:
    custom = tmp_path / "custom"
    shutil.copytree(tiny, custom)
    config = json.loads((custom / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_x.XConfig", "AutoModelForCausalLM": "modeling_x.XModel"}
    config["model_type"] = "x-custom"
    (custom / "config.json").write_text(json.dumps(config))
    with Session(str(custom)) as session:
        failed = session.loaded
        assert isinstance(failed, WorkerFailed) and failed.failure == "load"
        assert "needs --trust-remote-code" in failed.reason and "\n" not in failed.reason


def test_missing_weights_and_folders_are_one_line(tiny: Path, tmp_path: Path) -> None:
    empty = tmp_path / "no-weights"
    shutil.copytree(tiny, empty)
    (empty / "model.safetensors").unlink()
    with Session(str(empty)) as session:
        assert session.loaded.failure == "load" and "\n" not in session.loaded.reason  # type: ignore[union-attr]
    with Session(str(tmp_path / "nowhere")) as session:
        assert session.loaded.failure == "unavailable"  # type: ignore[union-attr]
        assert "no such model folder" in session.loaded.reason  # type: ignore[union-attr]
    with Session(f"{tiny}+adapter={tmp_path / 'no-lora'}") as session:
        assert "no such adapter folder" in session.loaded.reason  # type: ignore[union-attr]


def test_hub_model_offline_fails_fast_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    with Session("qwen2.5-0.5b") as session:
        failed = session.loaded
        assert isinstance(failed, WorkerFailed) and failed.failure == "unavailable"
        assert "Qwen/Qwen2.5-0.5B-Instruct" in failed.reason and "\n" not in failed.reason


def test_hub_errors_become_one_line() -> None:
    from huggingface_hub import errors

    from greentui.core.models.hub import hub_error

    class ConnectError(Exception):  # what httpx raises when the name does not resolve
        pass

    try:
        try:
            raise ConnectError("[Errno -2] Name or service not known")
        except ConnectError as cause:
            raise errors.LocalEntryNotFoundError("cannot find the requested files") from cause
    except errors.LocalEntryNotFoundError as exc:
        message = hub_error("org/model", None, exc).reason
    assert "cannot be reached (offline?)" in message and "org/model" in message
    missing = errors.RevisionNotFoundError.__new__(errors.RevisionNotFoundError)  # its __init__ wants a response
    Exception.__init__(missing, "404 revision not found")
    assert "no revision 'v9'" in hub_error("org/m", "v9", missing).reason


def test_spawned_worker_with_a_real_model_and_sigkill(tiny: Path) -> None:
    with Session(str(tiny), inline=False) as session:
        worker = session.worker
        assert isinstance(session.loaded, Loaded), session.loaded
        result, tokens = session.ask(GenerateRequest("one", PROMPT, 12))
        assert isinstance(result, Generated) and result.tokens_out == 12 and len(tokens) >= 12
        assert result.peak_rss_bytes and result.peak_rss_bytes >= 50_000_000  # torch alone is more than that
        worker.generate(GenerateRequest("long", PROMPT, 400))
        assert isinstance(worker.poll(30), Token)
        pid = worker.pid
        os.kill(pid, signal.SIGKILL)  # type: ignore[arg-type]
        while isinstance(message := worker.poll(10), Token):
            pass
        assert isinstance(message, WorkerFailed) and message.failure == "killed"
        assert pid not in [p.pid for p in psutil.Process().children(recursive=True)]


def test_bitsandbytes_mode_that_cannot_run_here_is_one_line(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    def no_backend(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Failed to find a bitsandbytes backend for device cpu\nmore lines")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", no_backend)
    with Session(f"{tiny}@nf4") as session:
        failed = session.loaded
        assert isinstance(failed, WorkerFailed) and failed.failure == "unavailable"
        assert failed.reason.startswith("nf4 on cpu is not supported by bitsandbytes")
        assert "use dint8 (torch dynamic int8) or fp32" in failed.reason and "\n" not in failed.reason
    with Session(str(tiny)) as session:  # without a bitsandbytes mode the error stays what it is
        assert session.loaded.failure == "load" and "bitsandbytes backend" in session.loaded.reason  # type: ignore


def test_fixed_length_suppresses_eos_and_stop_strings(tiny: Path, tmp_path: Path) -> None:
    with Session(str(tiny)) as session:
        free, tokens = session.ask(GenerateRequest("r", PROMPT, 6))
    assert isinstance(free, Generated)
    first_id = session_first_token_id(tiny, free.text, tokens[0].text)
    # A copy whose end-of-sequence is the very token greedy decoding emits first: it stops at once...
    eager = tmp_path / "eager-eos"
    shutil.copytree(tiny, eager)
    generation = json.loads((eager / "generation_config.json").read_text())
    generation["eos_token_id"] = first_id
    (eager / "generation_config.json").write_text(json.dumps(generation))
    with Session(str(eager)) as session:
        stopped, _ = session.ask(GenerateRequest("s", PROMPT, 30))
        fixed, pieces = session.ask(GenerateRequest("f", PROMPT, 30, stop=(tokens[1].text,), fixed_length=True))
    assert isinstance(stopped, Generated) and stopped.stop_reason == "eos" and stopped.tokens_out == 1
    # ...unless the request asks for a fixed length: eos suppressed, the stop string ignored, exactly 30 tokens
    assert isinstance(fixed, Generated)
    assert fixed.tokens_out == 30 == pieces[-1].n_tokens and fixed.stop_reason == "max-tokens"
    assert "".join(p.text for p in pieces) == fixed.text


def session_first_token_id(folder: Path, text: str, first_piece: str) -> int:
    """The id of the first token greedy decoding produced (its text is the first streamed piece)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = tokenizer(text, add_special_tokens=False).input_ids
    candidates = [i for i in ids[:3] if tokenizer.decode([i]) == first_piece]
    assert candidates, (text, first_piece)
    return int(candidates[0])
