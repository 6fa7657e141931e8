"""A fake model backend, for tests, screenshots and demos on any machine.

Source ``fake:NAME?key=value&...`` (options listed in ``fake_options.FAKE_OPTIONS``), e.g.
``fake:oracle?tps=200&accuracy=0.8&tokens=20&seed=1``. It answers with the request's ``hint`` (the reference) when
the draw says "correct" -- deterministic per (seed, request_id), right with probability ``accuracy`` -- and with a
plausible wrong answer otherwise. Tokens come at ``tps`` per second in real time through the same protocol as a real
model, so the session, the store and the TUI cannot tell the difference. ``crash_after``, ``oom_after``,
``exit_after``, ``fail_load`` and ``hang_load`` drive the failure paths. Parameter counts are what the options state
(default 135M), so verdicts and CEGI work.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
import threading
import time

from greentui.core.models.decoding import cut_at_stop
from greentui.core.models.endpoint import parse_count
from greentui.core.models.protocol import (
    EmitFn,
    Generated,
    GenerateRequest,
    ModelInfo,
    ModelLoadError,
    ProgressFn,
    SimulatedExit,
    Token,
)
from greentui.core.models.spec import ModelSpec

_BYTES_PER_PARAM = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "int8": 1.0, "dynamic-int8": 1.0, "nf4": 0.5, "fp4": 0.5}
_LABEL_SETS = (
    ("positive", "negative", "neutral"),
    ("yes", "no"),
    ("true", "false"),
    ("a", "b", "c", "d"),
)
_WORD_RE = re.compile(r"\s*\S+\s*$|\s*\S+")


def peak_rss_bytes() -> int | None:
    """This process's peak resident set size in bytes (ru_maxrss is KiB on Linux, bytes on macOS)."""
    try:
        import resource  # POSIX only

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError, ValueError):
        return None
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def is_correct(request_id: str, seed: int, accuracy: float) -> bool:
    """The deterministic right/wrong draw: uniform in [0, 1) from sha256(seed, request_id), below ``accuracy``."""
    digest = hashlib.sha256(f"{seed}:{request_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < accuracy


def wrong_answer(reference: str | None, rng: random.Random) -> str:
    """Something that looks like an answer to the same question but differs from ``reference``."""
    if not reference or not reference.strip():
        return "I am not sure."
    text = reference.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        shift = rng.choice([-3, -2, -1, 1, 2, 3, 10])
        return str(int(number) + shift) if number.is_integer() else f"{number + shift:g}"
    lowered = text.lower()
    for labels in _LABEL_SETS:
        if lowered in labels:
            choice = rng.choice([label for label in labels if label != lowered])
            return choice.capitalize() if text[:1].isupper() else choice
    words = text.split()
    if len(words) > 2:  # keep most of it (a partial ROUGE overlap), lose the end
        return " ".join(words[: max(1, len(words) * 2 // 3)])
    return f"not {text}"


def split_tokens(text: str, count: int | None) -> list[str]:
    """Pieces whose concatenation is ``text``: one per word, or exactly ``count`` (some "" when text is short)."""
    if count is None:
        pieces = _WORD_RE.findall(text)
        return pieces or [text]
    size, extra = divmod(len(text), count)
    pieces, position = [], 0
    for index in range(count):
        step = size + (1 if index < extra else 0)
        pieces.append(text[position : position + step])
        position += step
    return pieces


class FakeBackend:
    """The fake model. ``cancel`` (set by the worker on stop or load timeout) interrupts waits at once."""

    def __init__(self, spec: ModelSpec, cancel: threading.Event | None = None) -> None:
        self.spec = spec
        self.cancel = cancel or threading.Event()
        options = spec.fake_options()
        self.tps = float(options.get("tps", 200))
        self.accuracy = float(options.get("accuracy", 1.0))
        self.tokens = int(options["tokens"]) if "tokens" in options else None
        self.seed = int(options.get("seed", 0))
        self.load_s = float(options.get("load_s", 0))
        self.ttft_s = float(options["ttft_s"]) if "ttft_s" in options else 1.0 / self.tps
        self.crash_after = _optional_int(options.get("crash_after"))
        self.oom_after = _optional_int(options.get("oom_after"))
        self.exit_after = _optional_int(options.get("exit_after"))
        self.fail_load = options.get("fail_load")
        self.hang_load = options.get("hang_load", "0").lower() in ("1", "true", "yes")
        self.params = parse_count(options.get("params", "135M")) or 135_000_000
        default_trainable = "1M" if spec.adapter else str(self.params)
        self.trainable = parse_count(options.get("trainable", default_trainable)) or self.params
        self.items_done = 0

    def load(self, progress: ProgressFn) -> ModelInfo:
        started = time.monotonic()
        if self.hang_load:
            progress("loading (hang_load: never finishes)", 0.0)
            self.cancel.wait()
            raise ModelLoadError("load cancelled")
        steps = 5
        for step in range(steps):
            progress("loading fake weights", step / steps)
            if self.cancel.wait(self.load_s / steps):
                raise ModelLoadError("load cancelled")
        if self.fail_load:
            raise ModelLoadError(self.fail_load)
        dtype = "fp32" if self.spec.dtype == "auto" else self.spec.dtype
        width = _BYTES_PER_PARAM[self.spec.quant] if self.spec.quant != "none" else _BYTES_PER_PARAM[dtype]
        device = "cpu" if self.spec.device == "auto" else self.spec.device
        return ModelInfo(
            display_name=self.spec.display_name,
            params_total=self.params + (self.trainable if self.spec.adapter else 0),
            params_trainable=self.trainable,
            weight_bytes=int(self.params * width),
            dtype=dtype,
            quant=self.spec.quant,
            device=device,
            load_s=time.monotonic() - started,
            peak_rss_bytes=peak_rss_bytes(),
            peak_cuda_bytes=None,
            provenance="fake test backend (no weights)",
        )

    def generate(self, request: GenerateRequest, emit: EmitFn) -> Generated:
        started = time.monotonic()
        index = self.items_done
        rng = random.Random(f"{self.seed}:{request.request_id}")
        correct = is_correct(request.request_id, self.seed, self.accuracy)
        answer = (request.hint or "") if correct else wrong_answer(request.hint, rng)
        stops = () if request.fixed_length else request.stop  # a fixed-length answer runs on past them
        pieces = split_tokens(answer, request.max_new_tokens if request.fixed_length else self.tokens)
        stop_reason = "max-tokens" if request.fixed_length else "eos"
        if len(pieces) > request.max_new_tokens:
            pieces, stop_reason = pieces[: request.max_new_tokens], "max-tokens"
        failing_at = min(
            (n for n in (self.crash_after, self.oom_after, self.exit_after) if n is not None), default=None
        )
        fail_mid = failing_at is not None and index >= failing_at
        first = last = None
        emitted: list[str] = []
        for number, piece in enumerate(pieces, start=1):
            if fail_mid and number > max(1, len(pieces) // 2):
                self._fail(index)
            due = started + self.ttft_s + (number - 1) / self.tps
            if self.cancel.wait(max(0.0, due - time.monotonic())):
                stop_reason = "cancelled"
                break
            now = time.monotonic()
            first = first if first is not None else now
            last = now
            emitted.append(piece)
            emit(Token(request.request_id, piece, number, now))
            if stops and cut_at_stop("".join(emitted), stops)[1]:
                stop_reason = "stop-string"
                break
        if fail_mid:
            self._fail(index)
        text, cut = cut_at_stop("".join(emitted), stops)
        self.items_done += 1
        return Generated(
            request_id=request.request_id,
            text=text,
            tokens_in=max(1, len(request.prompt.plain.split())),
            tokens_out=len(emitted),
            started_mono_s=started,
            first_token_mono_s=first,
            last_token_mono_s=last,
            ended_mono_s=time.monotonic(),
            stop_reason="stop-string" if cut else stop_reason,
            peak_rss_bytes=peak_rss_bytes(),
            peak_cuda_bytes=None,
        )

    def _fail(self, index: int) -> None:
        """Raise the failure the options ask for, mid-item (the caller has emitted some tokens)."""
        if self.exit_after is not None and index >= self.exit_after:
            raise SimulatedExit(3)
        if self.oom_after is not None and index >= self.oom_after:
            raise MemoryError(f"fake out of memory (oom_after={self.oom_after})")
        raise RuntimeError(f"fake crash (crash_after={self.crash_after})")

    def close(self) -> None:
        self.cancel.set()


def _optional_int(value: str | None) -> int | None:
    return None if value is None else int(value)
