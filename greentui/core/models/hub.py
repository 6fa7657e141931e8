"""Getting a model or adapter from the Hugging Face hub: local cache first, else a download the user chose by
naming the model, with progress reported as load stages. Worker side (imports huggingface_hub lazily).

With no network the hub client fails fast (short timeouts are set in the worker environment; name resolution
fails at once) and the error becomes one line: "X is not downloaded and the Hugging Face hub cannot be reached".
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

from greentui.core.models.protocol import ModelLoadError, ModelUnavailable, ProgressFn
from greentui.core.models.resolve import hf_cached_folder

# What a transformers model needs; skips ONNX/GGUF/original checkpoints that many repos also hold.
WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]
ETAG_TIMEOUT_S = 5.0


def _progress_class(report: ProgressFn, what: str) -> type:
    """A tqdm stand-in for snapshot_download that turns byte counts into LoadProgress (at most 5 per second)."""
    from tqdm.auto import tqdm

    class _Progress(tqdm[Any]):
        _last_report = 0.0

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)
            kwargs["disable"] = False  # TQDM_DISABLE=1 in the worker would otherwise stop the counting too
            kwargs["file"] = io.StringIO()
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            now = time.monotonic()
            if self.unit == "B" and now - _Progress._last_report > 0.2 and self.total:
                _Progress._last_report = now
                fraction = min(1.0, self.n / self.total)
                report(f"downloading {what} ({self.n / 1e6:.0f} of {self.total / 1e6:.0f} MB)", fraction)
            return shown

    return _Progress


def hub_error(hub_id: str, revision: str | None, exc: BaseException) -> ModelLoadError:
    """One line for a failed hub access."""
    from huggingface_hub import errors

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if any(isinstance(e, errors.GatedRepoError) for e in chain):
        return ModelUnavailable(
            f"{hub_id} is gated: accept its licence at https://huggingface.co/{hub_id} and log in with `hf auth login`"
        )
    if any(isinstance(e, errors.RevisionNotFoundError) for e in chain):
        return ModelUnavailable(f"{hub_id} has no revision {revision!r}")
    if any(isinstance(e, errors.RepositoryNotFoundError) for e in chain):
        return ModelUnavailable(f"no model {hub_id} on the Hugging Face hub (if it is private: `hf auth login`)")
    offline = (errors.OfflineModeIsEnabled, errors.LocalEntryNotFoundError, ConnectionError, TimeoutError)
    if any(
        isinstance(e, offline) or type(e).__name__ in ("ConnectError", "ConnectTimeout", "ReadTimeout") for e in chain
    ):
        return ModelUnavailable(
            f"{hub_id} is not downloaded and the Hugging Face hub cannot be reached (offline?): "
            "download it once on a connected machine, or pick a model marked 'available here' "
            "in `greentui models`"
        )
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return ModelUnavailable(f"downloading {hub_id} failed: {first[:200]}")


def _download(hub_id: str, revision: str | None, patterns: list[str], report: ProgressFn) -> Path:
    from huggingface_hub import snapshot_download

    folder = snapshot_download(
        hub_id,
        revision=revision,
        allow_patterns=patterns,
        etag_timeout=ETAG_TIMEOUT_S,
        tqdm_class=_progress_class(report, hub_id),
    )
    return Path(str(folder))


def hub_folder(hub_id: str, revision: str | None, report: ProgressFn, *, trust_remote_code: bool = False) -> Path:
    """Local folder of a hub model: the cache when it holds the weights, else downloaded now."""
    cached = hf_cached_folder(hub_id, revision)
    if cached is not None:
        return cached
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise ModelUnavailable(f"{hub_id} is not in the Hugging Face cache and HF_HUB_OFFLINE is set")
    report(f"downloading {hub_id} (first use)", 0.0)
    patterns = WEIGHT_PATTERNS + (["*.py"] if trust_remote_code else [])
    try:
        folder = _download(hub_id, revision, patterns, report)
        if not any(folder.glob("*.safetensors")):  # an older repo with only PyTorch pickles
            folder = _download(hub_id, revision, [*patterns, "*.bin"], report)
    except Exception as exc:
        raise hub_error(hub_id, revision, exc) from exc
    return folder


def bundled_adapter_folder(name: str) -> Path | None:
    """The folder of an adapter that ships with greentui (``catalog.BUNDLED_ADAPTERS``), or None."""
    from greentui.core.models.catalog import BUNDLED_ADAPTERS

    if name not in BUNDLED_ADAPTERS:
        return None
    folder = Path(__file__).resolve().parents[2] / "adapters" / name
    return folder if folder.is_dir() else None


def adapter_folder(adapter: str, report: ProgressFn) -> Path:
    """Local folder of a PEFT adapter: a path, or a hub id (cache first, else download)."""
    path = Path(adapter).expanduser()
    bundled = bundled_adapter_folder(adapter)
    if bundled is not None and not path.is_dir():
        path = bundled
    if path.is_dir():
        if not (path / "adapter_config.json").is_file():
            raise ModelLoadError(f"{adapter} is not a PEFT adapter folder (no adapter_config.json)")
        return path
    if adapter.startswith(("/", "./", "../", "~")) or "/" not in adapter:
        raise ModelUnavailable(f"no such adapter folder: {adapter}")
    try:
        from huggingface_hub import snapshot_download

        folder = Path(str(snapshot_download(adapter, local_files_only=True)))
    except Exception:
        report(f"downloading adapter {adapter}", 0.0)
        try:
            folder = _download(adapter, None, ["*.json", "*.safetensors", "*.bin"], report)
        except Exception as exc:
            raise hub_error(adapter, None, exc) from exc
    return folder
