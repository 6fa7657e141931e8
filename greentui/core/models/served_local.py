"""What this machine's disk knows about a served model: its tokenizer and its parameter count. No torch.

A server does not say how many parameters its model has (llama-server excepted), nor always how many tokens it
used. When the served model's name is a local folder (``transformers serve ./model``) or a hub id in the local
Hugging Face cache (vLLM, TGI), its files are here: the tokenizer counts tokens, and the safetensors headers give
the parameter count without loading a weight. Nothing here touches the network.
"""

from __future__ import annotations

from pathlib import Path

from greentui.core.models.endpoint import Endpoint

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def _model_names(endpoint: Endpoint) -> list[str]:
    """The served model's name as given, and without what transformers serve adds to a hub id: a revision
    (``org/model@main``) or a GGUF file (``org/model:file.gguf``)."""
    model = endpoint.model
    bare = model.rpartition(":")[0] if model.endswith(".gguf") else model
    if not Path(bare).expanduser().exists():
        bare = bare.partition("@")[0]
    return list(dict.fromkeys(name for name in (model, bare) if name))


def _cached_hub_folder(name: str, wanted: str) -> Path | None:
    """The snapshot folder holding ``wanted`` for hub id ``name`` in the local cache, or None (no network)."""
    if name.count("/") != 1 or name.startswith(("/", ".", "~")):
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, wanted)
    except Exception:  # a malformed id or a damaged cache: "not here" is the honest answer
        return None
    return Path(found).parent if isinstance(found, str) else None


def _folder_with(name: str, wanted: tuple[str, ...]) -> Path | None:
    path = Path(name).expanduser()
    if path.is_dir():
        return path if any((path / file).is_file() for file in wanted) else None
    for file in wanted:
        folder = _cached_hub_folder(name, file)
        if folder is not None:
            return folder
    return None


def local_tokenizer(endpoint: Endpoint) -> Path | None:
    """A local folder holding the served model's tokenizer, or None."""
    for name in ([endpoint.tokenizer] if endpoint.tokenizer else []) + _model_names(endpoint):
        folder = _folder_with(name, TOKENIZER_FILES)
        if folder is not None:
            return folder
    return None


def count_parameters_on_disk(endpoint: Endpoint) -> int | None:
    """Parameters of the served model read from its local safetensors headers (no weight is loaded), or None.

    Each stored tensor is counted once, as saved: a tied embedding saved once counts once, as
    ``sum(p.numel() for p in model.parameters())`` counts it in the worker's in-process backend."""
    for name in _model_names(endpoint):
        folder = _folder_with(name, ("model.safetensors", "model.safetensors.index.json"))
        if folder is None:
            continue
        files = sorted(folder.glob("*.safetensors"))
        if not files:
            continue
        try:
            from safetensors import safe_open

            total = 0
            for file in files:
                with safe_open(str(file), framework="numpy") as weights:
                    for key in weights.keys():
                        count = 1
                        for size in weights.get_slice(key).get_shape():
                            count *= int(size)
                        total += count
        except Exception:  # an unreadable or foreign file: no count rather than a wrong one
            return None
        return total or None
    return None
