"""Convert a GGUF file once into a safetensors folder, so later loads take under a second instead of ~15 s.

Transformers loads a GGUF by parsing its metadata and dequantizing every tensor, which is slow (FACTS.md: 13-16 s
for SmolLM2-135M). The result is an ordinary fp32 model, which ``save_pretrained`` refuses to write only because it
carries the GGUF "quantizer" marker: clearing ``model.hf_quantizer`` and ``config.quantization_config`` lets it save,
and a reload gives the same weights bit for bit. The folder is keyed by the file's sha256, so a changed file gets a
new conversion and two copies of the same file share one.

Layout: ``<cache>/models/gguf-<sha256>/`` with config, ``model.safetensors``, the tokenizer and ``greentui.json``
(the marker written last). The conversion is written into a temporary folder and renamed into place, so a killed
conversion never leaves a half cache; a lock file makes a second process wait rather than convert twice.

``<cache>`` is ``$GREENTUI_CACHE_DIR`` when set (tests point it at tmp_path), else platformdirs' user cache dir.
Functions that convert import torch/transformers in their bodies: they run in the model worker only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from greentui.core.models.protocol import ProgressFn

CACHE_ENV = "GREENTUI_CACHE_DIR"
MARKER = "greentui.json"
FORMAT_VERSION = 1


def cache_dir() -> Path:
    """greentui's cache folder (created on demand by the writers, not here)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("greentui", appauthor=False))


def models_cache_dir() -> Path:
    return cache_dir() / "models"


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file (about 0.1 s for the 98 MB SmolLM2 GGUF)."""
    with open(path, "rb") as handle:
        if hasattr(hashlib, "file_digest"):  # Python >= 3.11: reads in C without the GIL
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        return digest.hexdigest()


def cache_folder_for(digest: str) -> Path:
    return models_cache_dir() / f"gguf-{digest}"


def cached_conversion(gguf_path: Path | str, digest: str | None = None) -> Path | None:
    """The finished cache folder for this GGUF, or None if it has not been converted yet."""
    folder = cache_folder_for(digest or sha256_file(gguf_path))
    return folder if (folder / MARKER).is_file() else None


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, on_wait: Callable[[], None]) -> Iterator[None]:
    """An advisory lock (POSIX flock) held for the duration; ``on_wait`` is called if another process holds it.
    A no-op where fcntl does not exist."""
    try:
        import fcntl
    except ImportError:  # Windows: the atomic rename below still keeps the cache whole
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure_converted(gguf_path: Path | str, progress: ProgressFn | None = None) -> Path:
    """The safetensors folder for ``gguf_path``, converting it first if needed. Worker side (imports torch)."""
    report = progress or (lambda stage, fraction: None)
    source = Path(gguf_path)
    report("hashing GGUF file", None)
    digest = sha256_file(source)
    done = cached_conversion(source, digest)
    if done is not None:
        return done
    root = models_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    waiting = lambda: report("waiting for another worker converting the same GGUF", None)  # noqa: E731
    with exclusive_lock(root / f".gguf-{digest}.lock", waiting):
        done = cached_conversion(source, digest)  # the other worker may have finished it meanwhile
        if done is not None:
            return done
        # We hold the lock, so any temporary folder for this digest is a leftover of a killed conversion.
        for stale in root.glob(f".tmp-{digest[:16]}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".tmp-{digest[:16]}-", dir=root))
        try:
            _convert(source, temporary, digest, report)
            final = cache_folder_for(digest)
            if final.exists():  # no marker (checked above under the lock): not ours to trust
                shutil.rmtree(final)
            os.replace(temporary, final)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    return cache_folder_for(digest)


@contextlib.contextmanager
def _parsed_once() -> Iterator[None]:
    """While converting, parse the GGUF once and build gguf's tensor-name map once per architecture.

    Transformers opens the file three times (tokenizer, config, weights: each a ``GGUFReader`` that parses the whole
    header, SmolLM2's 49,152-token vocabulary and its merges included) and rebuilds ``gguf.get_tensor_name_map``
    for every module it maps (397 times for SmolLM2). Both are pure functions of their arguments and it looks both
    up on the ``gguf`` module when called, so they are memoised there for the conversion and restored after it:
    the first-run conversion of SmolLM2 went from 21.1 s to 9.5-11.4 s here (2 cores), with byte-identical files.
    """
    import functools

    import gguf

    original_reader, original_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict[tuple[str, str], Any] = {}

    def reader(path: os.PathLike[str] | str, mode: str = "r") -> Any:
        key = (os.fspath(path), mode)
        if key not in readers:
            readers[key] = original_reader(path, mode)  # type: ignore[arg-type]  # mode is checked by gguf
        return readers[key]

    gguf.GGUFReader = reader  # type: ignore[misc,assignment]  # a memoising factory in the class's place
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(original_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = original_reader, original_map  # type: ignore[misc]  # the class back in its place
        readers.clear()


def _convert(source: Path, target: Path, digest: str, report: ProgressFn) -> None:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    with _parsed_once():
        report("converting GGUF, first use only: reading tokenizer", 0.05)
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        report("converting GGUF, first use only: dequantizing weights", 0.2)
        model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    # The GGUF quantizer marker is all that stops save_pretrained: the weights are already plain fp32 tensors.
    model.hf_quantizer = None  # type: ignore[assignment]  # transformers types it as set; None is what unsets it
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    report("converting GGUF, first use only: writing safetensors", 0.8)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    marker = {
        "format": FORMAT_VERSION,
        "source": str(source),
        "sha256": digest,
        "bytes": source.stat().st_size,
        "transformers": transformers.__version__,
        "seconds": round(time.monotonic() - started, 2),
        "created_unix_s": time.time(),
    }
    # The marker is written last: a folder without it is never taken for a finished conversion.
    (target / MARKER).write_text(json.dumps(marker, indent=2))
