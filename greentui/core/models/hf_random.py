"""Random weights for a known architecture (``random:NAME`` specs), built once and cached as an ordinary model
folder. Worker side: imports torch, transformers and tokenizers.

Why a folder rather than a model built in memory: written out, the random model loads through the very path real
weights take (``from_pretrained`` with the spec's dtype, device map and bitsandbytes config), so ``random:x@nf4``
quantizes exactly as ``x@nf4`` would and a GPU check of it checks greentui's real loading code.

Layout: ``<cache>/models/random-<name>-seed<SEED>-v<FORMAT_VERSION>/`` with ``config.json``,
``generation_config.json``, ``model.safetensors`` (bf16: half the disk of fp32, and a random weight loses nothing
by it), the tokenizer, and ``greentui.json`` written last. As for the GGUF cache, it is built in a temporary folder
and renamed into place under a lock, so two workers asking for the same model at once build it once. The weights are
initialised on the GPU when there is one (seconds for a 1B model, where a CPU takes a minute): the seed fixes them
per device type, and the marker records which.

The tokenizer is a byte-level BPE trained in memory on a few lines of English and arithmetic, then padded with
filler tokens up to the architecture's vocabulary, so that every id the model can emit decodes to some text.
Prompts therefore run somewhat longer in tokens than under the real model's tokenizer; the marker says so.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from greentui.core.models.architectures import Architecture
from greentui.core.models.hf_gguf_cache import MARKER, exclusive_lock, models_cache_dir
from greentui.core.models.protocol import ProgressFn

SEED = 0
FORMAT_VERSION = 1
TRAINED_VOCAB = 1024  # BPE tokens learnt from the built-in lines; the rest of the vocabulary is filler
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")  # ids 0, 1, 2, as in SmolLM2's tokenizer
CHAT_TEMPLATE = (  # ChatML, as SmolLM2 uses it
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def random_folder(arch: Architecture) -> Path:
    return models_cache_dir() / f"random-{arch.name}-seed{SEED}-v{FORMAT_VERSION}"


def cached_random_model(arch: Architecture) -> Path | None:
    """The finished folder for ``arch``, or None when it has not been built yet."""
    folder = random_folder(arch)
    return folder if (folder / MARKER).is_file() else None


def ensure_random_model(arch: Architecture, progress: ProgressFn | None = None) -> Path:
    """The folder of ``arch`` with random weights, building it first if needed (under a lock)."""
    report = progress or (lambda stage, fraction: None)
    done = cached_random_model(arch)
    if done is not None:
        return done
    root = models_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    stem = random_folder(arch).name
    waiting = lambda: report(f"waiting for another worker building random {arch.display_name}", None)  # noqa: E731
    with exclusive_lock(root / f".{stem}.lock", waiting):
        done = cached_random_model(arch)  # the other worker may have finished it meanwhile
        if done is not None:
            return done
        for stale in root.glob(f".tmp-{stem}-*"):  # we hold the lock: leftovers of a killed build
            shutil.rmtree(stale, ignore_errors=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".tmp-{stem}-", dir=root))
        try:
            build_random_model(arch, temporary, report)
            final = random_folder(arch)
            if final.exists():  # no marker (checked above under the lock): not ours to trust
                shutil.rmtree(final)
            os.replace(temporary, final)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    return random_folder(arch)


def build_random_model(arch: Architecture, target: Path, report: ProgressFn) -> None:
    """Write ``arch`` with seeded random weights, its tokenizer and the marker into the folder ``target``."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig

    started = time.monotonic()
    report(f"building random {arch.display_name}, first use only: tokenizer", 0.02)
    tokenizer = build_tokenizer(arch.vocab_size)
    eos_id, bos_id, pad_id = (
        tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|im_start|>", "<|endoftext|>")
    )
    config = LlamaConfig(**arch.config_fields(), bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=pad_id)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    report(f"building random {arch.display_name}, first use only: initialising weights on {device}", 0.05)
    with torch.random.fork_rng(devices=[0] if device == "cuda" else []):  # leave the caller's RNG state alone
        torch.manual_seed(SEED)
        with torch.device(device):  # built where it will be initialised, in the dtype it is saved in
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.generation_config = GenerationConfig(bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=pad_id)
    report(f"building random {arch.display_name}, first use only: writing safetensors", 0.15)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    marker = {
        "format": FORMAT_VERSION,
        "random_weights": True,
        "architecture": arch.name,
        "copied_from": arch.copied_from,
        "seed": SEED,
        "initialised_on": device,
        "saved_dtype": "bf16",
        "tokenizer": f"byte-level BPE, {TRAINED_VOCAB} trained tokens + filler up to {arch.vocab_size}; "
        "prompts are longer in tokens than under the real tokenizer",
        "transformers": transformers.__version__,
        "seconds": round(time.monotonic() - started, 2),
        "created_unix_s": time.time(),
    }
    (target / MARKER).write_text(json.dumps(marker, indent=2))  # last: a folder without it is never trusted


def _training_lines() -> list[str]:
    """English and arithmetic, enough for the BPE to learn common words and digits."""
    words = (
        "the of and to in is that it for was on are as with his they at be this from have or by one had not "
        "but what all were when we there can an your which their said if do will each about how up out them "
        "then she many some so these would other into has more her two like him see time could no make than "
        "first been its who now people my made over did down only way find use may water long little very "
        "after words called just where most know answer question number sum total result positive negative "
        "summary dialogue sentence label select from where order by group count function return value"
    ).split()
    lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 6)]
    lines += [f"What is {a} + {b}? The answer is {a + b}." for a in range(0, 100, 7) for b in range(0, 100, 9)]
    lines += [f"Q: {a} times {b}. A: {a * b}" for a in range(2, 13) for b in range(2, 13)]
    return lines


def build_tokenizer(vocab_size: int) -> Any:
    """A ``PreTrainedTokenizerFast`` with exactly ``vocab_size`` ids, every one of which decodes to text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    trained = Tokenizer(models.BPE())
    trained.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=min(TRAINED_VOCAB, vocab_size),
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    trained.train_from_iterator(_training_lines(), trainer=trainer)
    state = json.loads(trained.to_str())["model"]
    # the special tokens keep the ids 0-2 the trainer gave them: added below, they map onto these same ids
    vocab: dict[str, int] = dict(trained.get_vocab(with_added_tokens=True))
    # Filler ids: "Ġw<n>" decodes to " w<n>" through the byte-level decoder; skip any a trained token already holds.
    reserved = set(vocab) | set(SPECIAL_TOKENS)
    next_id, serial = max(vocab.values(), default=len(SPECIAL_TOKENS) - 1) + 1, 0
    while next_id < vocab_size:
        token = f"Ġw{serial}"
        serial += 1
        if token not in reserved:
            vocab[token] = next_id
            next_id += 1
    # tokenizers serialises a merge as "a b" (older releases) or ["a", "b"]
    pairs = [m.split(" ", 1) if isinstance(m, str) else m for m in state["merges"]]
    merges: list[tuple[str, str]] = [(str(a), str(b)) for a, b in pairs]
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer
