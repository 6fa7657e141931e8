"""Is greentui's GPU path true on this machine? One run, one JSON document (docs/GPU.md says how to read it).

    python benchmarks/gpu_check.py --out gpu_check.json          # on the GPU machine, after the kit's install
    python benchmarks/gpukit/run_kit.py --out DIR                # the same, installing the wheelhouse first

On an NVIDIA GPU, in under 6 minutes: greentui doctor's findings and NVML's versions and power limits; the energy
counter's observed update period; the counter against the trapezoid of instant and of 1 s averaged power over a
10 s idle span and a 60 s matrix-multiply load; and fixed-length races of random-weight SmolLM2-135M and
Llama-3.2-1B (fp16 vs bf16, and bf16 vs nf4 where bitsandbytes imports) through greentui's own session engine.
Without a GPU the GPU parts say "no GPU: <why>" and one tiny CPU race runs instead.

The JSON goes to stdout (and to ``--out``); progress lines go to stderr. Not part of ``make bench``: it needs a GPU
to mean anything, and its CPU race alone takes minutes on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

try:
    import greentui  # noqa: F401  (the installed one, when the kit installed it)
except ImportError:  # run from a checkout without installing: use the repository's
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from greentui.gpucheck.kit import KitOptions, run_kit


def _positive(kind: type[int] | type[float]) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = KitOptions()
    parser.add_argument("--items", type=_positive(int), default=defaults.items, help="items per side on a GPU (20)")
    parser.add_argument(
        "--max-new-tokens", type=_positive(int), default=defaults.max_new_tokens, help="fixed answer length (48)"
    )
    parser.add_argument("--cpu-items", type=_positive(int), default=defaults.cpu_items, help="items per side on CPU")
    parser.add_argument("--cpu-tokens", type=_positive(int), default=defaults.cpu_tokens, help="answer length on CPU")
    parser.add_argument("--idle-seconds", type=_positive(float), default=defaults.idle_s, help="idle span (10)")
    parser.add_argument("--load-seconds", type=_positive(float), default=defaults.load_s, help="load span (60)")
    parser.add_argument("--counter-reads", type=_positive(int), default=defaults.counter_reads)
    parser.add_argument("--sample-hz", type=_positive(float), default=defaults.sample_hz, help="NVML sampling (100)")
    parser.add_argument(
        "--budget-seconds",
        type=_positive(float),
        default=defaults.budget_s,
        help=f"the whole check's time ({defaults.budget_s:g})",
    )
    parser.add_argument("--task", default=defaults.task, help="task the races run (arithmetic)")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    parser.add_argument("--db", type=Path, help="keep the race sessions in this greentui store")
    parser.add_argument("--skip-energy", action="store_true", help="no counter period, idle or load span")
    parser.add_argument("--skip-race", action="store_true", help="no races")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # before anything imports transformers; the model workers inherit them
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    options = KitOptions(
        items=args.items,
        max_new_tokens=args.max_new_tokens,
        cpu_items=args.cpu_items,
        cpu_tokens=args.cpu_tokens,
        idle_s=args.idle_seconds,
        load_s=args.load_seconds,
        counter_reads=args.counter_reads,
        sample_hz=args.sample_hz,
        budget_s=args.budget_seconds,
        task=args.task,
        db_path=args.db,
        skip_energy=args.skip_energy,
        skip_race=args.skip_race,
    )
    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"[gpu_check {time.monotonic() - started:6.1f} s] {line}", file=sys.stderr, flush=True)

    report = run_kit(options, progress)
    text = json.dumps(report, indent=2)
    if args.out is not None:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text + "\n")
        except OSError as exc:
            print(f"gpu_check: could not write {args.out}: {exc.strerror or exc}", file=sys.stderr)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
