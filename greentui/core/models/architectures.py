"""Known model architectures, written out as numbers, for models with *random* weights (``random:NAME`` specs).

A randomly initialised model of a real architecture does exactly the compute of the real one -- the same matrix
shapes, the same KV cache, the same memory traffic per token -- so its speed and energy per token are realistic,
although every answer it gives is noise. That is what a GPU check needs on a machine that has no network and no
room for real weights (``benchmarks/gpu_check.py``), and what a user needs to ask "what would a 1B model cost per
token on this board?" before downloading one.

Each entry copies the ``config.json`` of the named Hugging Face model (all Llama-family decoders); its
:meth:`Architecture.parameter_count` is computed from the shapes and must equal the count on the model card
(:attr:`Architecture.params`), which the tests check, so a mistyped number cannot hide. Nothing here imports torch:
the worker's :mod:`greentui.core.models.hf_random` builds and caches the weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RANDOM_PREFIX = "random:"


@dataclass(frozen=True, slots=True)
class Architecture:
    """A Llama-family decoder's shape, as its ``config.json`` states it."""

    name: str  # what follows "random:" in a spec; the catalog name of the real model
    display_name: str  # "SmolLM2-135M"
    copied_from: str  # the hub id whose config.json these numbers are
    params: int  # total parameters of the real model (model card), tied embeddings counted once
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    max_position_embeddings: int
    rope_theta: float
    tie_word_embeddings: bool = True
    rms_norm_eps: float = 1e-5
    rope_scaling: tuple[tuple[str, Any], ...] = ()  # Llama 3's frequency scaling, as (key, value) pairs

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def parameter_count(self) -> int:
        """Parameters implied by the shapes: embeddings, per layer attention + gated MLP + two RMSNorms, the final
        norm, and an output head unless it is tied to the embeddings."""
        kv_width = self.num_key_value_heads * self.head_dim
        attention = 2 * self.hidden_size * self.hidden_size + 2 * self.hidden_size * kv_width  # q, o; k, v
        mlp = 3 * self.hidden_size * self.intermediate_size  # gate, up, down
        per_layer = attention + mlp + 2 * self.hidden_size
        embeddings = self.vocab_size * self.hidden_size
        head = 0 if self.tie_word_embeddings else embeddings
        return embeddings + self.num_hidden_layers * per_layer + self.hidden_size + head

    def config_fields(self) -> dict[str, Any]:
        """Keyword arguments for ``transformers.LlamaConfig`` (token ids are added by the builder)."""
        fields: dict[str, Any] = {
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "vocab_size": self.vocab_size,
            "max_position_embeddings": self.max_position_embeddings,
            "rope_theta": self.rope_theta,
            "tie_word_embeddings": self.tie_word_embeddings,
            "rms_norm_eps": self.rms_norm_eps,
            "hidden_act": "silu",
            "attention_bias": False,
            "mlp_bias": False,
        }
        if self.rope_scaling:
            fields["rope_scaling"] = dict(self.rope_scaling)
        return fields


_LLAMA3_ROPE_SCALING = (
    ("rope_type", "llama3"),
    ("factor", 32.0),
    ("low_freq_factor", 1.0),
    ("high_freq_factor", 4.0),
    ("original_max_position_embeddings", 8192),
)

ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture(
        "smollm2-135m", "SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct", 134_515_008,
        hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
        num_key_value_heads=3, vocab_size=49152, max_position_embeddings=8192, rope_theta=100000.0,
    ),
    Architecture(
        "smollm2-360m", "SmolLM2-360M", "HuggingFaceTB/SmolLM2-360M-Instruct", 361_821_120,
        hidden_size=960, intermediate_size=2560, num_hidden_layers=32, num_attention_heads=15,
        num_key_value_heads=5, vocab_size=49152, max_position_embeddings=8192, rope_theta=100000.0,
    ),
    Architecture(
        "smollm2-1.7b", "SmolLM2-1.7B", "HuggingFaceTB/SmolLM2-1.7B-Instruct", 1_711_376_384,
        hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, num_attention_heads=32,
        num_key_value_heads=32, vocab_size=49152, max_position_embeddings=8192, rope_theta=130000.0,
    ),
    Architecture(
        "llama3.2-1b", "Llama-3.2-1B", "meta-llama/Llama-3.2-1B-Instruct", 1_235_814_400,
        hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, vocab_size=128256, max_position_embeddings=131072, rope_theta=500000.0,
        rope_scaling=_LLAMA3_ROPE_SCALING,
    ),
    Architecture(
        "llama3.2-3b", "Llama-3.2-3B", "meta-llama/Llama-3.2-3B-Instruct", 3_212_749_824,
        hidden_size=3072, intermediate_size=8192, num_hidden_layers=28, num_attention_heads=24,
        num_key_value_heads=8, vocab_size=128256, max_position_embeddings=131072, rope_theta=500000.0,
        rope_scaling=_LLAMA3_ROPE_SCALING,
    ),
)  # fmt: skip
_BY_NAME = {arch.name: arch for arch in ARCHITECTURES}


def names() -> list[str]:
    return [arch.name for arch in ARCHITECTURES]


def find(name: str) -> Architecture | None:
    """The architecture called ``name`` (case-insensitive), or None."""
    return _BY_NAME.get(name.lower())
