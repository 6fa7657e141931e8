"""What the user waits for a model: session start to "ready", against a bare ``from_pretrained`` in a fresh process.

    .venv/bin/python benchmarks/load_time.py                       # fp32, bf16, nf4, dint8; 3 rounds each
    .venv/bin/python benchmarks/load_time.py --variants fp32 --rounds 5 --json out.json

The model is the offline SmolLM2-135M-Instruct from greentui's safetensors cache (the GGUF is converted first if
it is not yet: "warm" means converted and in the page cache). Per variant, in alternating order:

* **bare**: a fresh ``python`` process imports torch and transformers (not timed), then times what any script
  would do: ``AutoTokenizer.from_pretrained(folder)`` and ``AutoModelForCausalLM.from_pretrained(folder, dtype=...)``
  (with the same ``BitsAndBytesConfig`` for nf4; then ``torch.ao.quantization.quantize_dynamic`` for dint8).
* **greentui, warm**: standby workers are started (as the CLI does when a command starts, and while the setup
  screen is shown) and have imported their libraries; then the clock runs from ``Session.run()`` (task loading,
  power sources, the sampler, the worker's load request) to the ``ModelLoaded`` event of model A. Model B is a
  fake model, so one real model loads, as in the bare run. Goal: <= 1.5 x bare for fp32.
* **greentui, cold**: the same with no standby worker: the worker process starts and imports torch and
  transformers inside the window (what every session waited before standby workers).
* **two at once** (``--pair``): A and B both real, the same variant, loading together on the same cores: what a
  user racing two real models waits, to the second ``ModelLoaded``. No goal; reported.

Each line prints both sides' spreads (``spread.py``) and says "inconclusive" instead of a verdict when a side is
wider than the margin the goal tests (50 % for a 1.5 x goal). The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spread import load_average, spread, verdict

from greentui.core.models import worker as workers
from greentui.core.records import Event, ModelLoaded, RunFailed
from greentui.core.run.session import Session, SessionConfig

GOAL = {"fp32": 1.5}  # the goal is stated for fp32; other variants are reported against the same yardstick
YARDSTICK = 1.5

BARE = r"""
import json, sys, time
import torch, transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
folder, variant = sys.argv[1], sys.argv[2]
torch.set_num_threads(max(1, torch.get_num_threads()))
kwargs = {"dtype": {"fp32": torch.float32, "bf16": torch.bfloat16}.get(variant, torch.float32), "device_map": {"": "cpu"}}
if variant == "nf4":
    from transformers import BitsAndBytesConfig
    kwargs["quantization_config"] = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32)
started = time.monotonic()
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
if variant == "dint8":
    model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
model.eval()
print(json.dumps({"seconds": time.monotonic() - started}))
"""


def converted_folder() -> Path:
    """The cached safetensors folder of the offline GGUF, converting it once through a worker if needed."""
    from greentui.core.models.hf_gguf_cache import cached_conversion
    from greentui.core.models.resolve import offline_gguf_path

    gguf = offline_gguf_path()
    if gguf is None:
        raise SystemExit("the offline SmolLM2 GGUF is not installed (make install)")
    folder = cached_conversion(gguf)
    if folder is None:
        print("converting the GGUF once (first use)...", flush=True)
        session_load("fp32", warm=False, pair=False)
        folder = cached_conversion(gguf)
    assert folder is not None
    return folder


def bare_load(folder: Path, variant: str) -> float:
    env = {**os.environ, "TQDM_DISABLE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    done = subprocess.run(
        [sys.executable, "-c", BARE, str(folder), variant], capture_output=True, text=True, env=env, timeout=600
    )
    if done.returncode != 0:
        raise SystemExit(f"bare load of {variant} failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def session_load(variant: str, *, warm: bool, pair: bool) -> float:
    """Seconds from Session.run() to the last real model's ModelLoaded."""
    real = f"smollm2-135m@{variant}"
    config = SessionConfig(
        model_a=real, model_b=real if pair else "fake:b?tps=1000", task="arithmetic", limit=1, idle_s=0.0
    )
    workers.stop_standby()
    if warm:
        workers.prewarm(2 if pair else 1)
        if workers.standby_count(ready_only=True, wait_s=300) < (2 if pair else 1):
            raise SystemExit("standby workers did not get ready")
    session = Session(config)  # run() prepares it (loads the task) inside the timed window, as a user's run does
    needed = {"A", "B"} if pair else {"A"}
    loaded: dict[str, float] = {}
    done = threading.Event()
    failures: list[str] = []

    def on_event(event: Event) -> None:
        if isinstance(event, ModelLoaded) and event.side in needed:
            loaded[event.side] = time.monotonic()
            if set(loaded) == needed:
                done.set()
                session.request_stop()
        elif isinstance(event, RunFailed):
            failures.append(event.reason)
            done.set()

    session.subscribe(on_event)
    started = time.monotonic()
    runner = threading.Thread(target=session.run, daemon=True)
    runner.start()
    done.wait(600)
    runner.join(60)
    if failures or set(loaded) != needed:
        raise SystemExit(f"{real}: {failures or 'did not load'}")
    return max(loaded.values()) - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="fp32,bf16,nf4,dint8", help="comma-separated @options")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant (default 3)")
    parser.add_argument("--pair", action="store_true", help="also time two real models loading at once")
    parser.add_argument("--no-cold", action="store_true", help="skip the session without standby workers")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    os.environ.setdefault("GREENTUI_DB", str(Path(tempfile.mkdtemp(prefix="greentui-load-")) / "s.db"))
    print(f"before: {load_average()}", flush=True)
    folder = converted_folder()
    results: list[dict[str, Any]] = []
    for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
        times: dict[str, list[float]] = {"bare": [], "warm": [], "cold": [], "pair": []}
        for index in range(args.rounds):
            order = ["bare", "warm"] if index % 2 == 0 else ["warm", "bare"]
            order += [] if args.no_cold else ["cold"]
            order += ["pair"] if args.pair else []
            for kind in order:
                if kind == "bare":
                    times[kind].append(bare_load(folder, variant))
                else:
                    times[kind].append(session_load(variant, warm=kind != "cold", pair=kind == "pair"))
        bare, warm = spread(times["bare"], "bare", "s"), spread(times["warm"], "greentui warm", "s")
        ratio = warm.median / bare.median
        goal = GOAL.get(variant, YARDSTICK)
        said = verdict(ratio <= goal, [bare, warm], margin=goal - 1.0)
        if variant not in GOAL:
            said = f"(no goal for {variant}; against {YARDSTICK} x: {said})"
        print(
            f"{variant:6s} session start -> ready {warm.median:.2f} s, bare from_pretrained {bare.median:.2f} s: "
            f"ratio {ratio:.2f} (goal <= {goal} x)  {said}\n    {bare.describe()}\n    {warm.describe()}",
            flush=True,
        )
        result: dict[str, Any] = {
            "variant": variant,
            "ratio": round(ratio, 3),
            "verdict": said,
            **{f"{kind}_s": [round(v, 3) for v in values] for kind, values in times.items() if values},
        }
        for kind in ("cold", "pair"):
            if times[kind]:
                extra = spread(times[kind], f"greentui {kind}", "s")
                result[f"{kind}_median_s"] = round(statistics.median(times[kind]), 3)
                print(f"    {extra.describe()}", flush=True)
        results.append(result)
    workers.stop_standby()
    print(f"after: {load_average()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
