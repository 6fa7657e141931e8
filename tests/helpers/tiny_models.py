"""Tiny offline stand-ins for real models: a random-weight Llama with a byte-level BPE tokenizer, and the same
kind of model written as a GGUF file.

They load in a fraction of a second and generate hundreds of tokens per second on a CPU, so tests can exercise
the real Hugging Face code paths (loading, dtypes, quantization, PEFT adapters, streaming, the GGUF cache) with
no network and no big files. Their output is random text: use the fake backend to test accuracy.

    from tests.helpers.tiny_models import build_tiny_llama, build_tiny_gguf
    folder = build_tiny_llama(tmp_path / "tiny")        # config.json, model.safetensors, tokenizer files
    gguf = build_tiny_gguf(tmp_path / "tiny.gguf")      # llama arch, F32 tensors, gpt2-style tokenizer

Everything is seeded: two builds give identical weights and vocabularies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Same shape as FACTS.md's measured double: hidden 64, 2 layers, 4 heads, 2 kv heads, tied embeddings.
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
INTERMEDIATE = 128
CONTEXT = 512
VOCAB_TARGET = 400
SEED = 1234

BOS = "<|im_start|>"
EOS = "<|im_end|>"
END_OF_TEXT = "<|endoftext|>"
SPECIAL_TOKENS = (END_OF_TEXT, BOS, EOS)

# ChatML, as SmolLM2 and Qwen use it.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _training_lines() -> list[str]:
    """A few hundred lines covering the prompts tests use, with multi-byte text so that byte-level tokens which
    split a UTF-8 character exist (the streaming decoder must handle them)."""
    lines: list[str] = []
    for a in range(12):
        for b in range(12):
            lines.append(f"What is {a}+{b}? The answer is {a + b}.")
    for word in ("positive", "negative", "neutral", "yes", "no", "true", "false"):
        lines.append(f"Sentiment: {word}. Label: {word}")
    lines += [
        "SELECT name, age FROM users WHERE age > 30 ORDER BY name;",
        "def add(a, b):\n    return a + b",
        "Café crème, naïve façade, Straße, jalapeño.",
        "日本語のテキスト、中文文本、한국어 텍스트.",
        "Emoji: 🙂 🚀 ✨ — dashes “quotes” and ellipsis…",
        "Answer with one word. Question: Is the sky blue? Answer: yes",
    ] * 4
    return lines


def build_tiny_tokenizer() -> Any:
    """A byte-level BPE ``PreTrainedTokenizerFast`` (ChatML template, ``<|im_end|>`` as eos), trained in memory."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_TARGET,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_training_lines(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=END_OF_TEXT,
        unk_token=None,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _tiny_config(vocab_size: int, eos_id: int, bos_id: int, pad_id: int) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=HIDDEN,
        intermediate_size=INTERMEDIATE,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        max_position_embeddings=CONTEXT,
        tie_word_embeddings=True,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        rms_norm_eps=1e-5,
        # A wide init: with the default 0.02 greedy decoding repeats one token forever; at 0.3 it wanders through
        # the vocabulary, byte tokens that split UTF-8 characters included, which is what streaming tests need.
        initializer_range=0.3,
    )


def build_tiny_llama(directory: Path | str) -> Path:
    """Write a random-weight Llama (~60 K parameters, fp32 safetensors) and its tokenizer into ``directory``.

    Returns the folder, ready for ``from_pretrained(folder)`` or a ``ModelSpec`` source ``./folder``.
    """
    import torch
    from transformers import GenerationConfig, LlamaForCausalLM

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer()
    config = _tiny_config(
        len(tokenizer),
        tokenizer.convert_tokens_to_ids(EOS),
        tokenizer.convert_tokens_to_ids(BOS),
        tokenizer.convert_tokens_to_ids(END_OF_TEXT),
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_gguf(path: Path | str) -> Path:
    """Write a tiny Llama as a GGUF file: llama architecture, F32 tensors, gpt2-style (byte-level BPE) tokenizer
    fields and a ChatML chat template. ``from_pretrained(folder, gguf_file=name)`` loads it in about 2 s."""
    import numpy as np
    from gguf import GGUFWriter, TokenType

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer()
    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    vocab: dict[str, int] = backend["model"]["vocab"]
    for added in backend["added_tokens"]:
        vocab[added["content"]] = added["id"]
    tokens = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
    merges = [m if isinstance(m, str) else " ".join(m) for m in backend["model"]["merges"]]
    special = set(SPECIAL_TOKENS)
    token_types = [TokenType.CONTROL if t in special else TokenType.NORMAL for t in tokens]

    rng = np.random.default_rng(SEED)
    head_dim = HIDDEN // HEADS

    def weight(rows: int, cols: int, scale: float = 0.3) -> Any:
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)

    writer = GGUFWriter(str(target), "llama")
    writer.add_name("tiny-llama")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(INTERMEDIATE)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(token_types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(vocab[BOS])
    writer.add_eos_token_id(vocab[EOS])
    writer.add_pad_token_id(vocab[END_OF_TEXT])
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    # Tied embeddings: no output.weight tensor, as in SmolLM2's GGUF.
    writer.add_tensor("token_embd.weight", weight(len(tokens), HIDDEN))
    writer.add_tensor("output_norm.weight", np.ones(HIDDEN, dtype=np.float32))
    kv_dim = KV_HEADS * head_dim
    for i in range(LAYERS):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(HIDDEN, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight", weight(HIDDEN, HIDDEN))
        writer.add_tensor(f"blk.{i}.attn_k.weight", weight(kv_dim, HIDDEN))
        writer.add_tensor(f"blk.{i}.attn_v.weight", weight(kv_dim, HIDDEN))
        writer.add_tensor(f"blk.{i}.attn_output.weight", weight(HIDDEN, HIDDEN))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(HIDDEN, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(INTERMEDIATE, HIDDEN))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(INTERMEDIATE, HIDDEN))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(HIDDEN, INTERMEDIATE))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target
