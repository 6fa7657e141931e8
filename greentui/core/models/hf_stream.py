"""Generation with streaming for the Hugging Face backend (worker side: imports torch and transformers).

The hot path is one ``put`` per token: take the time, decode incrementally, send a small :class:`Token`. That is a
few tens of microseconds against tens of milliseconds per token of model time, so streaming costs well under the
3% the harness allows (``benchmarks/harness_overhead.py`` measures it against a bare ``model.generate`` loop).

Transformers calls stopping criteria *before* the streamer for each new token, so a criterion that only read the
streamer's text would stop one token late. :class:`StopStringCriteria` therefore feeds the new token to the streamer
itself; the streamer's own ``put`` then skips it. Without stop strings no criterion is installed at all.
"""

from __future__ import annotations

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


def run_generate(
    model: Any, tokenizer: Any, request: GenerateRequest, emit: EmitFn, cancel: threading.Event, device: str
) -> Generated:
    """One request through ``model.generate`` with streaming; returns the Generated record."""
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
