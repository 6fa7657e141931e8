"""Build the GPU kit's wheelhouse (``make gpu-kit``): greentui's wheel and the dependencies a torch machine lacks.

The machine the kit is planned for has no network and a Python with torch, transformers, accelerate, peft, psutil,
rich and nvidia-ml-py (and so everything those pull in: numpy, regex, PyYAML, tqdm, ...). This folder carries the
rest of greentui's dependencies, so that on that machine::

    python -m pip install --no-index --find-links WHEELHOUSE -r WHEELHOUSE/kit-requirements.txt
    python -m pip install --no-index --no-deps WHEELHOUSE/greentui-*.whl

needs nothing else (``benchmarks/gpukit/run_kit.py`` does both, then runs the check). How it is built:

1. greentui's wheel, from this checkout; any dependency published only as an sdist (rouge-score) is built into a
   pure wheel once.
2. The dependency closure is resolved for every target Python (3.10-3.13) and platform (manylinux x86_64, and
   aarch64 with ``--arch aarch64``), binaries only. pip evaluates ``python_version`` markers against the Python
   running it, not the target, so the names such markers guard (``exceptiongroup``, ``tomli``, ...) are added to
   the requests until no new one appears.
3. Every pure wheel (``*-none-any``) of any resolution is kept (a few MB in all); binary wheels are kept per
   Python and platform (msgspec, charset-normalizer: a few hundred KB each), except those the torch stack already
   brings (:data:`PROVIDED`), and pip itself.

bitsandbytes (a CUDA-specific binary, tens of MB) and codecarbon (pandas and friends, ~40 MB) are left out: the
kit gives its grid intensity explicitly, and the nf4 race runs only where the machine already has bitsandbytes.
The folder must stay well under 60 MiB: the build fails above :data:`LIMIT_BYTES`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import tomllib

REPO = Path(__file__).resolve().parents[2]
PREINSTALLED = {"torch", "transformers", "accelerate", "peft", "psutil", "rich", "nvidia-ml-py"}
LEFT_OUT = {
    "bitsandbytes": "a CUDA-specific binary of tens of MB; the nf4 race runs where the machine already has it",
    "codecarbon": "pulls pandas and friends (~40 MB of binaries); the kit gives its grid intensity explicitly",
}
# binaries the preinstalled stack already brings (transformers needs numpy, regex, PyYAML); pip runs the install
PROVIDED = {"numpy", "regex", "pyyaml", "pip", "markupsafe", "safetensors", "tokenizers", "torch"}
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
PLATFORMS = {
    "x86_64": ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
    "aarch64": ("manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"),
}
LIMIT_BYTES = 60 * 1024 * 1024
SOURCES = ("greentui", "tasks")  # what the wheel is built from (hashed, so the kit can tell a stale wheel)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"cannot read a package name in {requirement!r}")
    return canonical(match.group(1))


def remaining_requirements(pyproject: Path) -> list[str]:
    """greentui's dependencies minus those the target already has and those left out (markers kept)."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [d for d in dependencies if requirement_name(d) not in PREINSTALLED | set(LEFT_OUT)]


def marker_guarded(requires_dist: list[str]) -> set[str]:
    """Names required only under a Python-version marker (and not only for an extra)."""
    names = set()
    for requirement in requires_dist:
        _, _, marker = requirement.partition(";")
        if "python_" in marker and "extra" not in marker:
            names.add(requirement_name(requirement))
    return names


def is_pure(filename: str) -> bool:
    return filename.endswith("-none-any.whl")


def source_hash(repo: Path) -> str:
    """sha256 over the files the wheel is built from (paths and contents, sorted)."""
    digest = hashlib.sha256()
    for top in SOURCES:
        for path in sorted((repo / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def pip(*args: str, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", *args] + (["-q"] if quiet else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "is ignored" not in line]
        raise SystemExit(f"pip {args[0]} failed:\n" + "\n".join(errors[-15:]))
    return done


def resolve(requests: list[str], python: str, arch: str, find_links: Path, work: Path) -> list[dict[str, object]]:
    """pip's resolution of ``requests`` for one Python and platform, binaries only (nothing installed)."""
    report = work / f"report-{python}-{arch}.json"
    platforms = [arg for platform in PLATFORMS[arch] for arg in ("--platform", platform)]
    pip(
        "install", "--dry-run", "--ignore-installed", "--target", str(work / "target"), "--report", str(report),
        "--only-binary=:all:", "--python-version", python, "--implementation", "cp", *platforms,
        "--find-links", str(find_links), *requests,
    )  # fmt: skip
    installs: list[dict[str, object]] = json.loads(report.read_text())["install"]
    return installs


def build(out: Path, archs: list[str]) -> dict[str, object]:
    started = time.monotonic()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-kit-"))
    built = work / "built"
    try:
        print("greentui's wheel", file=sys.stderr)
        pip("wheel", "--no-deps", "-w", str(out), str(REPO))
        requirements = remaining_requirements(REPO / "pyproject.toml")
        print("sdists to build", file=sys.stderr)
        downloaded = work / "downloaded"
        pip("download", "--no-deps", "-d", str(downloaded), *requirements)
        built.mkdir()  # only the wheels built here: a wheel for this Python would hide other Pythons' choices
        for sdist in [p for p in downloaded.iterdir() if not p.name.endswith(".whl")]:
            pip("wheel", "--no-deps", "-w", str(built), str(sdist))
        extras: set[str] = marker_guarded(requirements)  # tomli for Python 3.10, ...
        wanted: dict[str, tuple[str, str, str]] = {}  # filename -> (url, python, arch)
        targets = [(PYTHONS[0], archs[0])]  # names guarded by markers are found on one target first
        for _ in range(6):
            found: set[str] = set()
            wanted.clear()
            for python, arch in targets:
                print(f"resolving for Python {python} {arch}", file=sys.stderr)
                for entry in resolve(requirements + sorted(extras), python, arch, built, work):
                    metadata = entry["metadata"]
                    url = entry["download_info"]["url"]  # type: ignore[index]
                    assert isinstance(metadata, dict) and isinstance(url, str)
                    found |= marker_guarded(metadata.get("requires_dist") or [])
                    if canonical(metadata["name"]) not in PROVIDED:
                        wanted[_filename(url)] = (url, python, arch)
            if found <= extras and len(targets) > 1:
                break
            extras |= found
            targets = [(python, arch) for arch in archs for python in PYTHONS]
        print(f"downloading {len(wanted)} wheels", file=sys.stderr)
        remote: dict[tuple[str, str], list[str]] = {}
        for filename, (url, python, arch) in wanted.items():
            if url.startswith("file://"):
                shutil.copy(unquote(urlparse(url).path), out / filename)
            else:
                name, version = filename.split("-")[:2]
                remote.setdefault((python, arch), []).append(f"{name}=={version}")
        for (python, arch), pins in remote.items():
            platforms = [arg for platform in PLATFORMS[arch] for arg in ("--platform", platform)]
            pip(
                "download", "--no-deps", "--only-binary=:all:", "--python-version", python,
                "--implementation", "cp", *platforms, "-d", str(out), *pins,
            )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (out / "kit-requirements.txt").write_text(
        "# greentui's dependencies that a torch machine lacks (install with --no-index --find-links this folder)\n"
        + "".join(f"{r}\n" for r in requirements)
    )
    files = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    total = sum(files.values())
    greentui_wheel = next(name for name in files if name.startswith("greentui-"))
    manifest = {
        "built_unix_s": time.time(),
        "greentui_wheel": greentui_wheel,
        "source_sha256": source_hash(REPO),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no", "--", *SOURCES)),
        "requirements": requirements,
        "marker_guarded_extras": sorted(extras),
        "pythons": list(PYTHONS),
        "platforms": archs,
        "left_out": LEFT_OUT,
        "provided_by_the_target": sorted(PROVIDED),
        "pure_wheels": sum(1 for name in files if is_pure(name)),
        "binary_wheels": sorted(name for name in files if name.endswith(".whl") and not is_pure(name)),
        "total_bytes": total,
        "files": files,
        "build_seconds": round(time.monotonic() - started, 1),
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if total > LIMIT_BYTES:
        raise SystemExit(f"the wheelhouse is {total / 2**20:.1f} MiB, over the {LIMIT_BYTES / 2**20:.0f} MiB limit")
    return manifest


def _filename(url: str) -> str:
    return unquote(urlparse(url).path.rsplit("/", 1)[-1])


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / ".gpu-kit" / "wheelhouse")
    parser.add_argument("--arch", action="append", choices=sorted(PLATFORMS), help="x86_64 (default); repeatable")
    args = parser.parse_args()
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    manifest = build(args.out, args.arch or ["x86_64"])
    print(
        f"wheelhouse {args.out}: {len(manifest['files'])} files, "  # type: ignore[arg-type]
        f"{manifest['total_bytes'] / 2**20:.1f} MiB in {manifest['build_seconds']} s"  # type: ignore[operator]
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
