"""Install the kit's wheelhouse into this Python, offline, then run the GPU check: the one command for a GPU machine.

    python3 benchmarks/gpukit/run_kit.py --out "$OUT"                 # from the repository root
    python3 benchmarks/gpukit/run_kit.py --out DIR -- --items 5       # arguments after -- go to gpu_check.py

Standard library only: it runs before greentui is installed. Steps:

1. read the wheelhouse's ``MANIFEST.json`` and say so if the repository's sources changed since it was built
   (then the wheel is stale: rerun ``make gpu-kit``);
2. ``pip install --no-index --find-links WHEELHOUSE -r kit-requirements.txt`` with every pip configuration and
   ``PIP_*`` index setting of the machine ignored, so nothing but the wheelhouse can be used; a Python marked
   externally managed (PEP 668) is installed into anyway (``--break-system-packages``): the machine is lent
   and bare. If the whole set fails, each requirement is tried alone and the failures are reported;
3. ``pip install --no-index --no-deps`` greentui's own wheel;
4. ``benchmarks/gpu_check.py`` in a fresh interpreter (models cached under ``--work``, never under ``--out``,
   whose files travel back); its JSON gains an ``install`` section and is written to ``OUT/gpu_check.json``
   and printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("greentui", "tasks")  # as build_wheelhouse.py hashes them


def source_hash(repo: Path) -> str:
    digest = hashlib.sha256()
    for top in SOURCES:
        for path in sorted((repo / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def offline_pip_env() -> dict[str, str]:
    """This environment without any pip setting that could reach an index or another folder of wheels."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # no pip.conf of the machine or the user
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def pip_install(args: list[str]) -> tuple[bool, str]:
    """``pip install --no-index ARGS``; retried with --break-system-packages on an externally managed Python."""
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--no-input", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=offline_pip_env(), check=False)
    if done.returncode != 0 and "externally-managed-environment" in done.stderr:
        command.insert(5, "--break-system-packages")
        done = subprocess.run(command, capture_output=True, text=True, env=offline_pip_env(), check=False)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return done.returncode == 0, "\n".join(lines[-6:])


def install(wheelhouse: Path) -> dict[str, object]:
    started = time.monotonic()
    record: dict[str, object] = {"wheelhouse": str(wheelhouse)}
    manifest_path = wheelhouse / "MANIFEST.json"
    if not manifest_path.is_file():
        raise SystemExit(f"run_kit: no wheelhouse at {wheelhouse} (make gpu-kit builds it)")
    manifest = json.loads(manifest_path.read_text())
    record |= {k: manifest.get(k) for k in ("git_commit", "git_dirty", "total_bytes", "greentui_wheel")}
    if (REPO / "greentui").is_dir():
        record["wheel_matches_repository"] = manifest.get("source_sha256") == source_hash(REPO)
        if not record["wheel_matches_repository"]:
            print("run_kit: the repository changed since the wheelhouse was built: rerun make gpu-kit", file=sys.stderr)
    requirements = wheelhouse / "kit-requirements.txt"
    ok, tail = pip_install(["--find-links", str(wheelhouse), "-r", str(requirements)])
    failed: dict[str, str] = {}
    if not ok:
        print(f"run_kit: installing the requirements together failed:\n{tail}", file=sys.stderr)
        for line in requirements.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                one_ok, one_tail = pip_install(["--find-links", str(wheelhouse), line])
                if not one_ok:
                    failed[line] = one_tail.splitlines()[-1] if one_tail else "failed"
    record["requirements_failed"] = failed
    ok, tail = pip_install(["--no-deps", "--force-reinstall", str(wheelhouse / manifest["greentui_wheel"])])
    if not ok:
        raise SystemExit(f"run_kit: greentui's wheel did not install:\n{tail}")
    record["seconds"] = round(time.monotonic() - started, 1)
    print(f"run_kit: installed from the wheelhouse in {record['seconds']} s", file=sys.stderr)
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheelhouse", type=Path, default=REPO / ".gpu-kit" / "wheelhouse")
    parser.add_argument("--out", type=Path, default=REPO / ".gpu-kit" / "out", help="JSON and store")
    parser.add_argument("--work", type=Path, help="model cache (default: a folder under the system's temp)")
    parser.add_argument("--no-db", action="store_true", help="do not keep the race sessions in a store")
    parser.add_argument("check_args", nargs=argparse.REMAINDER, help="-- then arguments for gpu_check.py")
    args = parser.parse_args()
    check_args = [a for a in args.check_args if a != "--"] if args.check_args[:1] == ["--"] else args.check_args
    record = install(args.wheelhouse.resolve())
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = (args.work or Path(tempfile.gettempdir()) / "greentui-gpu-kit").resolve()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed greentui, not a checkout's
    env.setdefault("GREENTUI_CACHE_DIR", str(work / "cache"))
    env.setdefault("GREENTUI_CONFIG_DIR", str(work / "config"))
    env["GREENTUI_DB"] = str(out / "gpu_check.db")
    command = [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--out", str(out / "gpu_check.json")]
    if not args.no_db:
        command += ["--db", str(out / "gpu_check.db")]
    done = subprocess.run(
        [*command, *check_args], stdout=subprocess.PIPE, text=True, env=env, cwd=work.parent, check=False
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(done.stdout[-3000:])
        print(f"run_kit: gpu_check.py printed no JSON (exit {done.returncode})", file=sys.stderr)
        return done.returncode or 1
    report["install"] = record
    text = json.dumps(report, indent=2)
    (out / "gpu_check.json").write_text(text + "\n")
    print(text)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
