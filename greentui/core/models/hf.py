"""The Hugging Face backend: load a model as its spec says, and generate with streaming. Worker side only.

This module imports torch and transformers at the top: it is imported in the model worker (or in tests), never by
the TUI or ``greentui --help``. Loading goes: resolve the source (catalog GGUF -> converted safetensors cache; hub
id -> local cache, else a download with progress; folder; ``random:`` architecture -> seeded random weights built
once into the cache), choose device and dtype, load the tokenizer and weights
(bitsandbytes config for int8/nf4/fp4), attach a PEFT adapter, apply torch dynamic int8 last. Every user-caused
failure becomes a :class:`ModelLoadError` with one line saying what to do.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from greentui.core.models import hf_gguf_cache, resolve
from greentui.core.models.fake import peak_rss_bytes
from greentui.core.models.hf_stream import PromptCache, run_generate
from greentui.core.models.hub import adapter_folder, hub_folder
from greentui.core.models.protocol import (
    EmitFn,
    Generated,
    GenerateRequest,
    ModelInfo,
    ModelLoadError,
    ModelUnavailable,
    ProgressFn,
)
from greentui.core.models.provenance import adapter_merged, describe_provenance
from greentui.core.models.spec import BITSANDBYTES_QUANTS, ModelSpec, device_problem

_TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def quiet_libraries() -> None:
    """Silence what would otherwise print per load or per matmul (the worker's stderr is a log file, but a log
    of a million identical lines helps no one)."""
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    for name in ("bitsandbytes", "accelerate", "peft", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # torch.ao.quantization announces its deprecation on every call; dynamic int8 is still the CPU option we want.
    warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
    warnings.filterwarnings("ignore", message=r".*quantized tensor creation functions.*")
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script_method.*is deprecated.*")
    warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*is deprecated.*")  # peft vs transformers 5


def resolve_device(spec: ModelSpec) -> str:
    """ "cpu" or "cuda:N". dint8 runs on cpu; auto picks cuda when torch sees one."""
    if spec.quant == "dynamic-int8" or spec.device == "cpu":
        return "cpu"
    if spec.device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise ModelUnavailable(f"{spec.device} was asked for but torch sees no CUDA device here: use cpu")
    index = int(spec.device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise ModelUnavailable(f"{spec.device} does not exist here ({torch.cuda.device_count()} CUDA devices)")
    return f"cuda:{index}"


def resolve_dtype(spec: ModelSpec, device: str) -> str:
    """The dtype name to load in: auto = fp32 on cpu, bf16 on cuda (fp16 where bf16 is unsupported)."""
    if spec.dtype != "auto":
        return spec.dtype
    if device == "cpu":
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def count_parameters(model: torch.nn.Module) -> int:
    """Logical parameter count (tied weights once; a 4-bit packed weight counted by its original shape)."""
    total = 0
    for parameter in model.parameters():
        quant_state = getattr(parameter, "quant_state", None)
        shape = getattr(quant_state, "shape", None)
        total += int(torch.Size(shape).numel()) if shape is not None else parameter.numel()
    return total


def weight_bytes(model: torch.nn.Module) -> int:
    """Bytes the weights occupy as held: every parameter at its stored width (4-bit weights packed two per byte),
    plus the packed int8 weights of dynamic-quantized Linear layers, which are not parameters. Buffers (rotary
    tables) and quantization scales are left out."""
    total = sum(parameter.numel() * parameter.element_size() for parameter in model.parameters())
    for module in model.modules():
        if type(module).__module__.startswith("torch.ao.nn.quantized.dynamic"):
            weight, bias = module._packed_params._weight_bias()  # type: ignore[union-attr, operator]  # torch's private packed-params API
            total += weight.int_repr().numel() * weight.int_repr().element_size()
            total += 0 if bias is None else bias.numel() * bias.element_size()
    return total


def _bnb_config(quant: str, compute_dtype: torch.dtype) -> Any:
    from transformers import BitsAndBytesConfig

    try:
        import bitsandbytes  # noqa: F401  (checked here to give a one-line message)
    except ImportError as exc:
        raise ModelUnavailable(f"{quant} needs bitsandbytes: pip install bitsandbytes ({exc})") from exc
    if quant == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=quant, bnb_4bit_compute_dtype=compute_dtype)


def _bitsandbytes_problem(quant: str, device: str, exc: BaseException) -> ModelUnavailable | None:
    """One line naming the mode, the device and the alternative, when bitsandbytes cannot run ``quant`` here."""
    if quant not in BITSANDBYTES_QUANTS:
        return None
    text = f"{type(exc).__name__} {exc}".lower()
    if not any(word in text for word in ("bitsandbytes", "bnb", "cuda", "backend", "not supported", "kernel")):
        return None
    try:
        import bitsandbytes

        version = f" {bitsandbytes.__version__}"
    except ImportError:
        version = ""
    alternative = "dint8 (torch dynamic int8) or fp32" if device == "cpu" else "bf16 or fp16"
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
    return ModelUnavailable(
        f"{quant} on {device} is not supported by bitsandbytes{version} here: use {alternative} ({first})"
    )


def _needs_remote_code(exc: BaseException) -> bool:
    return "trust_remote_code" in str(exc)


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    info: ModelInfo
    device: str


def load_model(
    spec: ModelSpec,
    *,
    trust_remote_code: bool = False,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> LoadedModel:
    """Load ``spec`` as the worker does (also used by benchmarks for the bare-generate baseline)."""
    report = progress or (lambda stage, fraction: None)
    started = time.monotonic()
    quiet_libraries()
    device = resolve_device(spec)
    dtype_name = resolve_dtype(spec, device)
    problem = device_problem(dtype_name, spec.quant, device)
    if problem:
        raise ModelUnavailable(problem)
    resolved = resolve.resolve(spec)

    def fetching(stage: str, fraction: float | None) -> None:
        # Conversion and download take the first quarter of the bar, so it never runs backwards.
        report(stage, None if fraction is None else 0.25 * fraction)

    if resolved.kind == "gguf":
        folder = hf_gguf_cache.ensure_converted(resolved.location, fetching)
    elif resolved.kind == "hub":
        folder = hub_folder(resolved.location, resolved.revision, fetching, trust_remote_code=trust_remote_code)
    elif resolved.kind == "random":
        from greentui.core.models.hf_random import ensure_random_model

        assert spec.architecture is not None  # resolve() gives "random" for known architectures only
        folder = ensure_random_model(spec.architecture, fetching)
    else:
        folder = Path(resolved.location)
    if cancel is not None and cancel.is_set():
        raise ModelLoadError("load cancelled")

    report("loading tokenizer", 0.3)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
        report(f"loading weights ({dtype_name}{'' if spec.quant == 'none' else ', ' + spec.quant}, {device})", 0.4)
        kwargs: dict[str, Any] = {
            "dtype": _TORCH_DTYPES[dtype_name],
            "device_map": {"": device},
            "trust_remote_code": trust_remote_code,
        }
        if spec.quant in BITSANDBYTES_QUANTS:
            kwargs["quantization_config"] = _bnb_config(spec.quant, _TORCH_DTYPES[dtype_name])
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    except ValueError as exc:
        if _needs_remote_code(exc):
            raise ModelLoadError(
                f"{spec.source} needs --trust-remote-code (it runs Python code from the model "
                "repository: use it only for sources you trust)"
            ) from exc
        raise (_bitsandbytes_problem(spec.quant, device, exc) or exc) from exc
    except (RuntimeError, ImportError) as exc:  # an op with no kernel for this device raises a RuntimeError subclass
        raise (_bitsandbytes_problem(spec.quant, device, exc) or exc) from exc
    params_total = count_parameters(model)
    params_trainable = params_total
    if spec.adapter:
        report("loading adapter", 0.8)
        model, params_trainable, params_total = _attach_adapter(model, spec.adapter, report)
        if adapter_merged(spec):
            # The same function with one matmul per layer instead of three: W + (alpha / r) B A is folded into W,
            # as an adapter is deployed. Unmerged, SmolLM2 + a q/v adapter generated 21% fewer tokens per second
            # on this 2-core machine (19.7 vs 25.0 tok/s, bare transformers, one run). Dynamic int8 needs the
            # plain Linear layers anyway. bitsandbytes layers stay unmerged: merging would requantize the base.
            model = model.merge_and_unload()
    if spec.quant == "dynamic-int8":
        report("quantizing Linear layers to int8 (torch dynamic)", 0.9)
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    model.eval()
    info = ModelInfo(
        display_name=spec.display_name,
        params_total=params_total,
        params_trainable=params_trainable,
        weight_bytes=weight_bytes(model),
        dtype=dtype_name,
        quant=spec.quant,
        device=device,
        load_s=time.monotonic() - started,
        peak_rss_bytes=peak_rss_bytes(),
        peak_cuda_bytes=peak_cuda_bytes(device),
        provenance=describe_provenance(spec, resolved, dtype_name),
    )
    report("ready", 1.0)
    return LoadedModel(model, tokenizer, info, device)


def _attach_adapter(model: Any, adapter: str, report: ProgressFn) -> tuple[Any, int, int]:
    """Wrap ``model`` with a PEFT adapter; returns (model, adapter parameters, all parameters)."""
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise ModelUnavailable(f"adapters need peft: pip install peft ({exc})") from exc
    folder = adapter_folder(adapter, report)
    # is_trainable=True keeps requires_grad on the adapter weights so PEFT's own count finds them; nothing trains:
    # generation runs under inference_mode.
    model = PeftModel.from_pretrained(model, str(folder), is_trainable=True)
    trainable, total = model.get_nb_trainable_parameters()
    model.requires_grad_(False)
    return model, int(trainable), int(total)


def peak_cuda_bytes(device: str) -> int | None:
    if not device.startswith("cuda"):
        return None
    return int(torch.cuda.max_memory_allocated(torch.device(device)))


class HFBackend:
    """A transformers model in the worker."""

    def __init__(
        self, spec: ModelSpec, *, trust_remote_code: bool = False, cancel: threading.Event | None = None
    ) -> None:
        self.spec = spec
        self.trust_remote_code = trust_remote_code
        self.cancel = cancel or threading.Event()
        self.loaded: LoadedModel | None = None
        self.prompt_cache = PromptCache()

    def load(self, progress: ProgressFn) -> ModelInfo:
        self.loaded = load_model(
            self.spec, trust_remote_code=self.trust_remote_code, progress=progress, cancel=self.cancel
        )
        return self.loaded.info

    def generate(self, request: GenerateRequest, emit: EmitFn) -> Generated:
        assert self.loaded is not None, "generate() before load()"
        loaded = self.loaded
        result = run_generate(
            loaded.model, loaded.tokenizer, request, emit, self.cancel, loaded.device, self.prompt_cache
        )
        return dataclasses.replace(
            result, peak_rss_bytes=peak_rss_bytes(), peak_cuda_bytes=peak_cuda_bytes(self.loaded.device)
        )

    def close(self) -> None:
        """Drop the model; in a worker process the exit returns all memory anyway, inline this frees it now."""
        on_cuda = self.loaded is not None and self.loaded.device.startswith("cuda")
        self.loaded = None
        self.prompt_cache = PromptCache()
        if on_cuda:
            torch.cuda.empty_cache()
