"""Where a model's weights came from and what was done to them, in one line the user reads beside its name.

``SmolLM2-135M-Instruct · from Q4_1 GGUF, dequantized to fp32, then bitsandbytes nf4``: the offline demo's
"fp32" model is a 4-bit GGUF dequantized, so a comparison of "fp32 vs nf4" compares two 4-bit-derived weight
sets, and the label must say so. The worker knows all of it at load time and sends it in ``ModelInfo``; the
store keeps it in the runs table. Pure apart from reading a GGUF file's header when its name does not say the
quantization (the ``gguf`` package, imported only then).
"""

from __future__ import annotations

import re
from pathlib import Path

from greentui.core.models.resolve import Resolved
from greentui.core.models.spec import BITSANDBYTES_QUANTS, ModelSpec

# "SmolLM2-135M-Instruct.Q4_1.gguf", "model-q4_k_m.gguf", "x.F16.gguf", "y.IQ3_XXS.gguf"
_GGUF_TYPE_IN_NAME = re.compile(r"[.\-_]((?:I?Q\d(?:_[A-Z0-9]+)*)|F16|F32|BF16)\.gguf$", re.IGNORECASE)


def gguf_weight_type(path: str | Path) -> str | None:
    """The GGUF file's weight type ("Q4_1", "Q4_K_M", "F16"): from its name, else from its header, else None."""
    match = _GGUF_TYPE_IN_NAME.search(Path(path).name)
    if match:
        return match.group(1).upper()
    try:
        from gguf import GGUFReader, LlamaFileType

        field = GGUFReader(str(path)).fields.get("general.file_type")
        if field is None:
            return None
        value = int(field.parts[field.data[0]][0])
        return LlamaFileType(value).name.removeprefix("MOSTLY_")
    except Exception:  # not installed, an unreadable header or an unknown type: the origin stays "GGUF"
        return None


def adapter_merged(spec: ModelSpec) -> bool:
    """Whether the worker folds ``spec``'s LoRA adapter into the base weights at load (peft's merge_and_unload):
    always, except on bitsandbytes-quantized weights, where merging would dequantize and requantize the base."""
    return bool(spec.adapter) and spec.quant not in BITSANDBYTES_QUANTS


def _after_load(spec: ModelSpec, loaded_dtype: str, from_fp32: bool) -> list[str]:
    """What greentui did to the weights after reading them: the dtype, the quantization, the adapter."""
    steps: list[str] = []
    if from_fp32 and loaded_dtype != "fp32":
        steps.append(f"cast to {loaded_dtype}")
    if spec.quant in BITSANDBYTES_QUANTS:
        steps.append(f"then bitsandbytes {spec.quant}")
    elif spec.quant == "dynamic-int8":
        steps.append("then torch dynamic int8")
    if spec.adapter:
        merged = " merged into the weights" if adapter_merged(spec) else ""
        steps.append(f"with the adapter {spec.adapter}{merged}")
    return steps


def describe_provenance(spec: ModelSpec, resolved: Resolved, loaded_dtype: str) -> str:
    """One line: where ``spec``'s weights came from (``resolved``) and what was done to them.

    ``loaded_dtype`` is the dtype the weights were loaded in ("fp32", "bf16", "fp16").
    """
    if resolved.kind == "gguf":
        kind = gguf_weight_type(resolved.location)
        head = [f"from {kind} GGUF" if kind else "from a GGUF file", "dequantized to fp32"]
        return ", ".join(head + _after_load(spec, loaded_dtype, from_fp32=True))
    if resolved.kind == "hub":
        where = resolved.location + (f"#{resolved.revision}" if resolved.revision else "")
        return ", ".join(
            [f"from the Hugging Face hub ({where}), {loaded_dtype}", *_after_load(spec, loaded_dtype, False)]
        )
    if resolved.kind == "folder":
        name = Path(resolved.location).name
        return ", ".join([f"from the folder {name}, {loaded_dtype}", *_after_load(spec, loaded_dtype, False)])
    if resolved.kind == "random":
        return ", ".join(
            [
                f"random weights ({resolved.location} architecture), {loaded_dtype}",
                *_after_load(spec, loaded_dtype, False),
            ]
        )
    return "fake test backend (no weights)"
