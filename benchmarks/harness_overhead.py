"""How much does greentui's model harness cost? Tokens/s through ModelWorker (spawned process, a Token message per
token, incremental decoding) against a bare ``model.generate`` loop on the same model, in the same run.

    .venv/bin/python benchmarks/harness_overhead.py                 # smollm2-135m @fp32 and @nf4, 64 tokens
    .venv/bin/python benchmarks/harness_overhead.py --variants fp32 --rounds 9 --json out.json

Both sides load the model the same way (``greentui.core.models.hf.load_model``), run the same chat-templated
prompt greedily for exactly the same number of new tokens, and are timed end to end from the caller's side:
bare = the ``generate()`` call; greentui = from ``worker.generate(request)`` to the ``Generated`` message in the
parent, so the pipe, the streaming and the unpickling are all inside the window. Runs alternate A B B A so drift
(thermal, other processes) falls on both sides alike; the ratio of medians is the figure. Goal: >= 0.97.
Each side's spread (interquartile range over median, ``spread.py``) is printed; when either is wider than the 3 %
the goal tests, the line says "inconclusive" instead of a verdict. Run it on a quiet machine: on two shared cores,
someone else's job moves single runs by 10-30%.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spread import load_average, spread, verdict

from greentui.core.models.protocol import Generated, GenerateRequest, Loaded, LoadProgress, WorkerFailed
from greentui.core.models.spec import ModelSpec
from greentui.core.models.worker import ModelWorker
from greentui.core.records import Prompt

GOAL = 0.97
# A request that makes SmolLM2 talk for well over 64 tokens, so max_new_tokens is what ends every run.
PROMPT = Prompt(
    ({"role": "user", "content": "Write a long story about a lighthouse keeper who finds a message in a bottle."},),
    "Write a long story about a lighthouse keeper who finds a message in a bottle.",
)


def _bare_run(loaded: object, input_ids: object, new_tokens: int) -> tuple[float, int]:
    import torch

    model = loaded.model  # type: ignore[attr-defined]
    tokenizer = loaded.tokenizer  # type: ignore[attr-defined]
    pad = model.generation_config.pad_token_id
    pad = tokenizer.eos_token_id if pad is None else pad
    started = time.monotonic()
    with torch.inference_mode():
        output = model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=pad,
        )
    seconds = time.monotonic() - started
    return seconds, int(output.shape[1] - input_ids.shape[1])  # type: ignore[attr-defined]


def _worker_run(worker: ModelWorker, index: int, new_tokens: int) -> tuple[float, int, Generated]:
    started = time.monotonic()
    worker.generate(GenerateRequest(f"bench-{index}", PROMPT, new_tokens))
    while True:
        message = worker.poll(600)
        if isinstance(message, Generated):
            return time.monotonic() - started, message.tokens_out, message
        if isinstance(message, WorkerFailed):
            raise SystemExit(f"worker failed: {message.reason}")


def measure(variant: str, *, source: str, new_tokens: int, rounds: int) -> dict[str, object]:
    from greentui.core.models.hf import load_model
    from greentui.core.models.hf_stream import encode_prompt

    spec = ModelSpec.parse(f"{source}@{variant}")
    loaded = load_model(spec)
    input_ids = encode_prompt(loaded.tokenizer, GenerateRequest("x", PROMPT, new_tokens))
    worker = ModelWorker("A", spec, load_timeout_s=600)
    worker.start()
    try:
        while isinstance(message := worker.poll(600), LoadProgress):
            pass
        if not isinstance(message, Loaded):
            raise SystemExit(f"worker failed to load {spec}: {message}")
        _bare_run(loaded, input_ids, new_tokens)  # warm-up: allocator, first-call paths
        _worker_run(worker, -1, new_tokens)
        bare_tps: list[float] = []
        worker_tps: list[float] = []
        worker_decode_tps: list[float] = []
        counts: set[int] = set()
        for index in range(rounds):
            order = ("bare", "worker") if index % 2 == 0 else ("worker", "bare")
            for side in order:
                if side == "bare":
                    seconds, count = _bare_run(loaded, input_ids, new_tokens)
                    bare_tps.append(count / seconds)
                else:
                    seconds, count, generated = _worker_run(worker, index, new_tokens)
                    worker_tps.append(count / seconds)
                    if generated.decode_tokens_per_s:
                        worker_decode_tps.append(generated.decode_tokens_per_s)
                counts.add(count)
    finally:
        worker.stop()
    bare_median = statistics.median(bare_tps)
    worker_median = statistics.median(worker_tps)
    return {
        "spec": str(spec),
        "new_tokens": sorted(counts),
        "rounds": rounds,
        "bare_tokens_per_s": [round(v, 2) for v in bare_tps],
        "greentui_tokens_per_s": [round(v, 2) for v in worker_tps],
        "greentui_decode_tokens_per_s_median": round(statistics.median(worker_decode_tps), 2)
        if worker_decode_tps
        else None,
        "bare_median": round(bare_median, 2),
        "greentui_median": round(worker_median, 2),
        "ratio": round(worker_median / bare_median, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="smollm2-135m", help="model source (default: the offline SmolLM2)")
    parser.add_argument("--variants", default="fp32,nf4", help="comma-separated @options, e.g. fp32,nf4,dint8")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per run (default 64)")
    parser.add_argument("--rounds", type=int, default=7, help="timed runs per side (default 7)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    results = []
    print(f"before: {load_average()} (on 2 cores, above ~0.3 the figures are noisy)")
    for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
        result = measure(variant, source=args.source, new_tokens=args.tokens, rounds=args.rounds)
        bare = spread(result["bare_tokens_per_s"], "bare", "tok/s")  # type: ignore[arg-type]
        ours = spread(result["greentui_tokens_per_s"], "greentui", "tok/s")  # type: ignore[arg-type]
        said = verdict(result["ratio"] >= GOAL, [bare, ours], margin=1.0 - GOAL)  # type: ignore[operator]
        result["verdict"] = said
        results.append(result)
        print(
            f"{result['spec']:24s} ratio {result['ratio']:.3f} (goal >= {GOAL})  {said}   tokens {result['new_tokens']}"
            f"\n    {bare.describe()}\n    {ours.describe()}",
            flush=True,
        )
    print(f"after: {load_average()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
