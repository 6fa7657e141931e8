"""examples/train_lora_arithmetic.py on the tiny random Llama: two training steps write a PEFT adapter that
greentui's loader accepts, with r * (in + out) trainable parameters per adapted layer; the worked answers it
teaches reach the generator's answers and never use the task's test questions."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers.tiny_models import build_tiny_llama

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "train_lora_arithmetic.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_lora_arithmetic", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENTUI_CACHE_DIR", str(tmp_path / "cache"))


def _lora_params(folder: Path, targets: tuple[str, ...], r: int) -> int:
    """r * (in_features + out_features) summed over the base model's Linear layers named in ``targets``."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)
    return sum(
        r * (module.in_features + module.out_features)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name.rsplit(".", 1)[-1] in targets
    )


class _Meter:
    """A stand-in for greentui's codecarbon wrapper: fixed figures, so the JSON can be checked."""

    reason = None

    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> bool:
        self.calls.append("start")
        return True

    def stop(self) -> tuple[float, float]:
        self.calls.append("stop")
        return 2e-5, 0.0074


@pytest.mark.parametrize("targets", [("q_proj", "v_proj"), ("q_proj", "k_proj", "v_proj", "o_proj")])
def test_two_steps_write_an_adapter_with_the_lora_parameter_count(
    example: ModuleType, tmp_path: Path, targets: tuple[str, ...]
) -> None:
    tiny = build_tiny_llama(tmp_path / "tiny")
    config = example.TrainConfig(steps=2, items=8, batch_size=2, targets=targets)
    result = example.train_adapter(tiny, tmp_path / "lora", config, log=lambda line: None)

    assert (tmp_path / "lora" / "adapter_config.json").is_file()
    assert (tmp_path / "lora" / "adapter_model.safetensors").is_file()
    expected = _lora_params(tiny, targets, config.r)
    assert expected > 0
    assert result.trainable_params == expected
    assert result.steps == 2 and result.items == 8
    assert result.loss_first > 0 and result.loss_last > 0
    assert result.emissions_g is None and result.energy_kwh is None  # no meter given: no figures, not zeros
    record = json.loads((tmp_path / "lora" / example.EMISSIONS_FILE).read_text())
    assert record["steps"] == 2 and record["items"] == 8 and record["g"] is None


def test_greentui_reports_the_same_trainable_count_for_the_saved_adapter(example: ModuleType, tmp_path: Path) -> None:
    from greentui.core.models.hf import load_model
    from greentui.core.models.spec import ModelSpec

    tiny = build_tiny_llama(tmp_path / "tiny")
    meter = _Meter()
    result = example.train_adapter(
        tiny, tmp_path / "lora", example.TrainConfig(steps=2, items=4, batch_size=2), meter=meter, log=lambda line: None
    )
    loaded = load_model(ModelSpec(source=str(tiny), dtype="fp32", device="cpu", adapter=str(tmp_path / "lora")))
    assert loaded.info.params_trainable == result.trainable_params
    assert not [name for name, _ in loaded.model.named_modules() if "lora_" in name]  # merged at load
    assert meter.calls == ["start", "stop"]
    record = json.loads((tmp_path / "lora" / example.EMISSIONS_FILE).read_text())
    assert record["g"] == pytest.approx(0.0074) and record["kWh"] == pytest.approx(2e-5)


def test_the_worker_merges_an_adapter_into_the_weights_without_changing_the_function(tmp_path: Path) -> None:
    from peft import LoraConfig, PeftModel, get_peft_model

    from greentui.core.models.hf import load_model
    from greentui.core.models.spec import ModelSpec

    tiny = build_tiny_llama(tmp_path / "tiny")
    base = load_model(ModelSpec(source=str(tiny), dtype="fp32", device="cpu")).model
    torch.manual_seed(0)
    peft = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"]))
    for name, weight in peft.named_parameters():
        if "lora_B" in name:  # fresh adapters start at B = 0, which would make any comparison trivial
            torch.nn.init.normal_(weight, std=0.5)
    peft.save_pretrained(tmp_path / "lora")
    merged = load_model(ModelSpec(source=str(tiny), dtype="fp32", device="cpu", adapter=str(tmp_path / "lora")))
    assert not [name for name, _ in merged.model.named_modules() if "lora_" in name]
    plain = load_model(ModelSpec(source=str(tiny), dtype="fp32", device="cpu")).model
    unmerged = PeftModel.from_pretrained(
        load_model(ModelSpec(source=str(tiny), dtype="fp32", device="cpu")).model, str(tmp_path / "lora")
    ).eval()
    ids = torch.tensor([[1, 5, 9, 2, 7, 3]])
    with torch.inference_mode():
        got, want, without = merged.model(ids).logits, unmerged(ids).logits, plain(ids).logits
    assert (want - without).abs().max() > 1e-2  # the adapter changes the function...
    assert torch.allclose(got, want, atol=1e-4)  # ...and merged it is the same function


def test_training_problems_are_fresh_and_their_worked_answers_reach_the_reference(example: ModuleType) -> None:
    from greentui.core.evaluate.tasks import load_task

    task = load_task("arithmetic")
    test_questions = {item.input["question"] for item in task.items}
    examples = example.training_examples(task, 300, seed=7)
    assert len(examples) == 300
    assert len({e.question for e in examples}) == 300
    assert not test_questions & {e.question for e in examples}
    # The generator's own seed reproduces the test items: every one of them must be skipped.
    generator = example.load_generator(task)
    assert example.training_examples(task, 5, seed=generator.SEED)[0].question not in test_questions
    for item in generator.generate(3):
        answer = example.worked_answer(item["template"], item["input"]["question"], int(item["reference"]))
        assert answer is not None and answer.endswith(f"The answer is {item['reference']}.")


def test_worked_answer_refuses_a_calculation_that_misses_the_answer(example: ModuleType) -> None:
    question = "A pizza costs $9. How many dollars do 3 pizzas cost?"
    assert example.worked_answer("shop_total", question, 27) == "3 x 9 = 27. The answer is 27."
    assert example.worked_answer("shop_total", question, 28) is None
    assert example.worked_answer("no_such_template", question, 27) is None


def test_compare_command_is_fine_tune_mode_with_the_training_emissions(example: ModuleType) -> None:
    command = example.compare_command(Path("/tmp/my lora"), 0.123456, "USA", limit=20)
    assert "--model-b 'smollm2-135m@fp32+adapter=/tmp/my lora'" in command
    assert "--training-emissions-g 0.1235 --amortize-answers 1000000" in command
    assert "--training-emissions-g" not in example.compare_command(Path("lora"), None, "USA")


def test_batch_loss_with_the_shared_prefix_equals_the_plain_full_sequence_loss(
    example: ModuleType, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from greentui.core.evaluate.tasks import load_task

    tiny = build_tiny_llama(tmp_path / "tiny")
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    model = AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32)
    task = load_task("arithmetic")
    rows = [example.encode_example(tokenizer, task, e) for e in example.training_examples(task, 3, seed=11)]
    prefix_len = example.shared_prefix_length(rows)
    assert 0 < prefix_len < min(len(ids) for ids, _ in rows)
    assert all(label == -100 for _, labels in rows for label in labels[:prefix_len])

    loss = example.batch_loss(model, example.make_batch(rows, prefix_len, tokenizer.pad_token_id))
    loss.backward()
    grad = model.model.layers[0].self_attn.v_proj.weight.grad.clone()
    model.zero_grad()

    # Reference: each full row on its own through transformers' own loss, weighted by its answer tokens.
    total = torch.zeros(())
    tokens = 0
    for ids, labels in rows:
        count = sum(1 for label in labels if label != -100)
        out = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
        total = total + out.loss * count
        tokens += count
    reference = total / tokens
    reference.backward()
    assert loss.item() == pytest.approx(reference.item(), rel=1e-4)
    torch.testing.assert_close(grad, model.model.layers[0].self_attn.v_proj.weight.grad, rtol=1e-3, atol=1e-6)
