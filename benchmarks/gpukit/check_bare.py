"""Prove the kit's install path here (``make gpu-kit-check``): a fresh virtual environment with only the torch stack,
the wheelhouse installed offline, the check run with the network cut, and its JSON checked.

    python3 benchmarks/gpukit/check_bare.py [--wheelhouse DIR] [--work DIR]

1. A new venv under ``--work`` gets exactly what the GPU machine is planned to have: ``torch==2.13.0`` (the CPU
   build on this machine's disk; never an unpinned torch), transformers, accelerate, peft, psutil, rich and
   nvidia-ml-py. It is then shown to lack greentui and the wheelhouse's packages.
2. ``run_kit.py`` runs in a new network namespace (``unshare --net``: no interface but a downed loopback), so the
   install can only use the wheelhouse, and the check can only use what is on disk.
3. The JSON must say "no GPU" for the GPU parts, hold one completed CPU race with fixed-length answers, call the
   weights random, contain no score, and show greentui imported from the venv (the wheel), not the checkout.

Exit 0 when every check holds; the JSON is printed either way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TORCH_STACK = ["torch==2.13.0", "transformers", "accelerate", "peft", "psutil", "rich", "nvidia-ml-py"]
ABSENT_BEFORE = ["greentui", "textual", "sqlite_utils", "platformdirs", "rouge_score", "msgspec", "httpx_sse", "gguf"]
CPU_ITEMS, CPU_TOKENS = 2, 4
FORBIDDEN_KEYS = {"score", "scores", "accuracy", "answer", "output", "correct"}


def keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys(inner)


def offline_prefix() -> tuple[list[str], str]:
    """A command prefix that cuts the network, and what it is."""
    for prefix in (["unshare", "--net", "--"], ["unshare", "--user", "--map-root-user", "--net", "--"]):
        if shutil.which(prefix[0]) and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix, " ".join(prefix[:-1])
    return [], "none (unshare unavailable: the network was NOT cut; --no-index and an empty pip config still hold)"


def validate(report: dict[str, Any], venv: Path) -> list[str]:
    problems = []
    nvml = report.get("nvml") or {}
    if nvml.get("available") or not str(nvml.get("reason", "")).startswith("no GPU"):
        problems.append(f"nvml should say no GPU, says {nvml}")
    for part in ("counter_period", "energy"):
        if not str(report.get(part, "")).startswith("no GPU"):
            problems.append(f"{part} should say no GPU, says {str(report.get(part))[:200]}")
    if not str(report.get("weights", "")).startswith("random"):
        problems.append("the JSON does not say the weights are random")
    found = FORBIDDEN_KEYS & set(keys(report))
    if found:
        problems.append(f"the JSON reports answers or scores: {sorted(found)}")
    races = report.get("race") or []
    if len(races) != 1 or races[0].get("status") != "completed":
        problems.append(f"one completed CPU race expected, got {[(r.get('name'), r.get('status')) for r in races]}")
    for race in races:
        for side in ("A", "B"):
            lane = race.get(side) or {}
            if lane.get("n_items") != CPU_ITEMS or lane.get("tokens_out") != [CPU_TOKENS]:
                problems.append(f"side {side}: {lane.get('n_items')} items of {lane.get('tokens_out')} tokens")
            if lane.get("items_without_energy"):
                problems.append(f"side {side}: items without energy")
    where = str((report.get("environment") or {}).get("greentui_path", ""))
    if not Path(where).resolve().is_relative_to(venv.resolve()):
        problems.append(f"greentui was imported from {where}, not from the venv's installed wheel")
    if (report.get("install") or {}).get("requirements_failed"):
        problems.append(f"requirements failed to install: {report['install']['requirements_failed']}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheelhouse", type=Path, default=REPO / ".gpu-kit" / "wheelhouse")
    parser.add_argument("--work", type=Path, default=REPO / ".gpu-kit" / "bare")
    args = parser.parse_args()
    work = args.work.resolve()
    venv = work / "venv"
    python = venv / "bin" / "python"
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing of the checkout on the path
    if venv.exists():
        shutil.rmtree(venv)
    print(f"check_bare: a fresh venv with {' '.join(TORCH_STACK)}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *TORCH_STACK], check=True, env=env)
    probe = "import importlib.util, sys; print([m for m in sys.argv[1:] if importlib.util.find_spec(m)])"
    present = subprocess.run(
        [str(python), "-c", probe, *ABSENT_BEFORE], capture_output=True, text=True, check=True, cwd=work, env=env
    )
    if present.stdout.strip() != "[]":
        raise SystemExit(f"check_bare: the fresh venv already has {present.stdout.strip()}")
    prefix, network = offline_prefix()
    print(f"check_bare: running the kit offline ({network})", file=sys.stderr)
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    command = [
        *prefix, str(python), str(REPO / "benchmarks" / "gpukit" / "run_kit.py"),
        "--wheelhouse", str(args.wheelhouse.resolve()), "--out", str(out), "--work", str(work / "work"),
        "--", "--cpu-items", str(CPU_ITEMS), "--cpu-tokens", str(CPU_TOKENS),
    ]  # fmt: skip
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False, env=env)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(done.stdout[-3000:])
        print(f"check_bare: FAILED: the kit printed no JSON (exit {done.returncode})", file=sys.stderr)
        return 1
    report["bare_check"] = {
        "network": network,
        "preinstalled": TORCH_STACK,
        "absent_before_the_kit": ABSENT_BEFORE,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(report, indent=2))
    problems = validate(report, venv) + ([f"the kit exited {done.returncode}"] if done.returncode else [])
    for problem in problems:
        print(f"check_bare: FAILED: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_bare: passed in {report['bare_check']['seconds']:.0f} s", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
