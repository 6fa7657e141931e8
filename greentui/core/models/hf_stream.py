"""Generation with streaming for the Hugging Face backend (worker side: imports torch and transformers).

The hot path is one ``put`` per token: take the time, decode incrementally, send a small :class:`Token`. That is a
few tens of microseconds against tens of milliseconds per token of model time, so streaming costs well under the
3% the harness allows (``benchmarks/harness_overhead.py`` measures it against a bare ``model.generate`` loop).

:class:`PromptCache` keeps the key/value cache of the prompt prefix that successive items share (the task's system
text and few-shot turns: 219 of SmolLM2's ~235 prompt tokens on ``arithmetic``), so each item prefills only its own
question, as inference servers do (vLLM's automatic prefix caching, llama.cpp's prompt cache). The first item of a
session pays for the prefix inside its own energy window. A request with ``reuse_prefix`` False prefills its whole
prompt; a model whose cache cannot be copied or cropped falls back to that, once and for all.

Transformers calls stopping criteria *before* the streamer for each new token, so a criterion that only read the
streamer's text would stop one token late. :class:`StopStringCriteria` therefore feeds the new token to the streamer
itself; the streamer's own ``put`` then skips it. Without stop strings no criterion is installed at all.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from greentui.core.models.decoding import IncrementalDecoder, cut_at_stop, find_stop
from greentui.core.models.protocol import EmitFn, Generated, GenerateRequest, Token


class Cancelled(Exception):
    """Raised from inside generate() when the worker is asked to stop mid-item."""


class TokenStreamer(BaseStreamer):
    """Records a monotonic timestamp per new token, decodes it incrementally and emits a Token message."""

    def __init__(
        self, request_id: str, tokenizer: Any, emit: EmitFn, stops: tuple[str, ...], cancel: threading.Event
    ) -> None:
        self.request_id = request_id
        self.emit = emit
        self.stops = stops
        self.cancel = cancel
        self.decoder = IncrementalDecoder(fast_decode(tokenizer))
        self.n_tokens = 0
        self.first_mono_s: float | None = None
        self.last_mono_s: float | None = None
        self.stop_hit = False
        self._prompt_seen = False
        self._consumed_ahead = 0  # tokens already fed by the stop criterion

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate() first hands over the prompt
            self._prompt_seen = True
            return
        if self._consumed_ahead:
            self._consumed_ahead -= 1
            return
        self.feed(value.reshape(-1).tolist())

    def feed(self, token_ids: list[int]) -> None:
        now = time.monotonic()
        if self.cancel.is_set():
            raise Cancelled()
        for token_id in token_ids:
            self.n_tokens += 1
            before = len(self.decoder.text)
            piece = self.decoder.push(int(token_id))
            if self.first_mono_s is None:
                self.first_mono_s = now
            self.last_mono_s = now
            self.emit(Token(self.request_id, piece, self.n_tokens, now))
            if self.stops and piece and find_stop(self.decoder.text, self.stops, before) is not None:
                self.stop_hit = True

    def end(self) -> None:
        """Emit what the decoder still holds (a character left incomplete at the end decodes to U+FFFD), so the
        streamed pieces add up to the final text. No new token: ``n_tokens`` repeats the last count."""
        piece = self.decoder.flush()
        if piece:
            self.emit(Token(self.request_id, piece, self.n_tokens, time.monotonic()))


def fast_decode(tokenizer: Any) -> Callable[[Sequence[int]], str]:
    """ids -> text, skipping special tokens. The Rust backend directly where there is one: the Python wrapper
    costs several microseconds per call, and the streamer decodes twice per token."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and not getattr(tokenizer, "clean_up_tokenization_spaces", False):
        return lambda ids: backend.decode(list(ids), skip_special_tokens=True)
    return lambda ids: tokenizer.decode(ids, skip_special_tokens=True)


class StopStringCriteria(StoppingCriteria):
    """Stops as soon as the decoded text contains a stop string (checked on the token just generated)."""

    def __init__(self, streamer: TokenStreamer) -> None:
        self.streamer = streamer

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        self.streamer.feed(input_ids[0, -1:].tolist())
        self.streamer._consumed_ahead += 1
        stop = torch.full((input_ids.shape[0],), self.streamer.stop_hit, dtype=torch.bool, device=input_ids.device)
        return cast(torch.BoolTensor, stop)


def encode_prompt(tokenizer: Any, request: GenerateRequest) -> torch.Tensor:
    """Token ids of the prompt: the chat template when the tokenizer has one, else the plain text."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(list(request.prompt.messages), add_generation_prompt=True, tokenize=False)
        return tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    return tokenizer(request.prompt.plain, return_tensors="pt").input_ids


def generation_kwargs(request: GenerateRequest, pad_token_id: int | None) -> dict[str, Any]:
    """Greedy by default (sampling knobs of the model's generation config switched off so it says nothing);
    seeded sampling with the model's own temperature/top-p when ``request.seed`` is set. A fixed-length request
    suppresses end-of-sequence until ``max_new_tokens`` (transformers' ``min_new_tokens``)."""
    kwargs: dict[str, Any] = {"max_new_tokens": request.max_new_tokens, "pad_token_id": pad_token_id}
    if request.fixed_length:
        kwargs["min_new_tokens"] = request.max_new_tokens
    if request.seed is None:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    else:
        kwargs.update(do_sample=True)
    return kwargs


def eos_ids(model: Any, tokenizer: Any) -> set[int]:
    found: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            found.add(value)
        elif isinstance(value, (list, tuple)):
            found.update(int(v) for v in value)
    return found


class PromptCache:
    """The key/value cache of a prompt prefix, reused by later prompts that start with it (module docstring).

    It holds the cache of the first prompt minus its last token. A later prompt gets a copy cropped to the tokens
    it shares with that one (at least :data:`MIN_SHARED_TOKENS`, and never its own last token, which
    ``generate`` must run to produce the first new token's logits); a prompt that shares fewer replaces it.
    """

    MIN_SHARED_TOKENS = 32  # below this the copy costs about what it saves

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.cache: Any = None
        self.broken = False  # this model's cache cannot be reused (a static or sliding-window cache, say)
        self.reused_tokens = 0  # prompt tokens the latest request took from the cache (read by the tests)
        self.keyword = "past_key_values"  # generate's name for it in this transformers release

    def for_prompt(self, model: Any, input_ids: torch.Tensor) -> dict[str, Any]:
        """The keyword giving ``generate`` a cache for ``input_ids`` (one row); empty to prefill the whole prompt."""
        self.reused_tokens = 0
        ids = input_ids[0].tolist()
        if self.broken or len(ids) <= self.MIN_SHARED_TOKENS:
            return {}
        try:
            shared = _shared_length(self.ids, ids)
            if shared < self.MIN_SHARED_TOKENS:  # the first prompt, or another task's: remember this one
                output = model(input_ids=input_ids[:, :-1], use_cache=True)
                # transformers 5 names it "cache" (its "past_key_values" is deprecated), 4.x "past_key_values"
                self.keyword = "cache" if "cache" in output else "past_key_values"
                cache = output[self.keyword]
                if not _plain_layers(cache):
                    raise TypeError(f"{type(cache).__name__} is not a plain dynamic cache")
                self.cache, self.ids = cache, ids[:-1]
                shared = len(self.ids)
            reused = copy.deepcopy(self.cache)
            reused.crop(shared - len(self.ids))  # transformers' crop takes the number of tokens to drop, negated
        except Exception:  # any failure here: this model prefills every prompt from now on
            self.broken, self.ids, self.cache = True, [], None
            return {}
        self.reused_tokens = shared
        return {self.keyword: reused}


def _plain_layers(cache: Any) -> bool:
    """True for a cache whose every layer keeps all past positions (transformers' DynamicLayer): cropping it to a
    prefix is exact. Sliding-window, static and recurrent layers are not reused."""
    layers: Sequence[Any] = getattr(cache, "layers", None) or ()  # transformers 4.x caches have none: not reused
    return bool(layers) and all(type(layer).__name__ == "DynamicLayer" for layer in layers)


def _shared_length(first: Sequence[int], second: Sequence[int]) -> int:
    """Tokens at the start of ``second`` equal to ``first``'s, leaving ``second``'s last token out."""
    limit = min(len(first), len(second) - 1)
    for position in range(limit):
        if first[position] != second[position]:
            return position
    return max(limit, 0)


def run_generate(
    model: Any,
    tokenizer: Any,
    request: GenerateRequest,
    emit: EmitFn,
    cancel: threading.Event,
    device: str,
    prompt_cache: PromptCache | None = None,
) -> Generated:
    """One request through ``model.generate`` with streaming; returns the Generated record. With
    ``prompt_cache`` and ``request.reuse_prefix``, the prompt's shared prefix comes from the cache."""
    started = time.monotonic()
    input_ids = encode_prompt(tokenizer, request).to(device)
    stops = () if request.fixed_length else tuple(request.stop)  # a fixed-length answer runs on past them
    streamer = TokenStreamer(request.request_id, tokenizer, emit, stops, cancel)
    kwargs = generation_kwargs(request, _pad_id(model, tokenizer))
    if stops:
        kwargs["stopping_criteria"] = StoppingCriteriaList([StopStringCriteria(streamer)])
    if request.seed is not None:
        torch.manual_seed(request.seed)
    stop_reason = None
    output = None
    try:
        with torch.inference_mode():
            if prompt_cache is not None and request.reuse_prefix:
                kwargs.update(prompt_cache.for_prompt(model, input_ids))
            output = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), streamer=streamer, **kwargs)
    except Cancelled:
        stop_reason = "cancelled"
    if output is not None:
        new_ids = output[0, input_ids.shape[1] :].tolist()
    else:
        new_ids = streamer.decoder.ids
    text = fast_decode(tokenizer)(new_ids)  # the decoder the streamer used: pieces add up to this text
    text, cut = cut_at_stop(text, stops)
    if stop_reason is None:
        if request.fixed_length:
            stop_reason = "max-tokens" if len(new_ids) >= request.max_new_tokens else "length"
        elif cut or streamer.stop_hit:
            stop_reason = "stop-string"
        elif new_ids and new_ids[-1] in eos_ids(model, tokenizer):
            stop_reason = "eos"
        elif len(new_ids) >= request.max_new_tokens:
            stop_reason = "max-tokens"
        else:
            stop_reason = "length"
    return Generated(
        request_id=request.request_id,
        text=text,
        tokens_in=int(input_ids.shape[1]),
        tokens_out=len(new_ids),
        started_mono_s=started,
        first_token_mono_s=streamer.first_mono_s,
        last_token_mono_s=streamer.last_mono_s,
        ended_mono_s=time.monotonic(),
        stop_reason=stop_reason,
    )


def _pad_id(model: Any, tokenizer: Any) -> int | None:
    pad = getattr(model.generation_config, "pad_token_id", None)
    if pad is None:
        pad = tokenizer.pad_token_id
    if pad is None:
        ids = sorted(eos_ids(model, tokenizer))
        pad = ids[0] if ids else None
    return pad
