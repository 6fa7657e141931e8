"""The messages between the session and a model worker, and the errors backends raise.

Plain frozen dataclasses, picklable, sent over a ``multiprocessing`` pipe. Times are ``time.monotonic()``
(``t_mono_s``): CLOCK_MONOTONIC is shared by every process of a Linux machine, so a worker's timestamps compare
directly with the parent's. Memory is in bytes; None means "not available" (e.g. no CUDA), never 0.

Parent -> worker: :class:`GenerateRequest`, :class:`StopRequest`; to a standby worker (started before its model
was chosen, so that importing torch and transformers overlaps with the user's choices) first :class:`LoadRequest`.
Worker -> parent: a standby worker's :class:`Standby` once its imports are done; :class:`LoadProgress`... then
:class:`Loaded` (or :class:`WorkerFailed`); per request :class:`Token`... then :class:`Generated` (or
:class:`WorkerFailed`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from greentui.core.records import Prompt, TokenSpeeds

# failure kinds of WorkerFailed (they match records.RunFailed.failure); "server": a served model's server failed
FAILURES = ("load", "crash", "oom", "killed", "timeout", "unavailable", "server")
# where a Generated's token counts came from (Generated.tokens_counted_by)
TOKENS_FROM_IDS = "generated ids"


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """One item for the model. ``seed`` None = greedy decoding; an int = sampling seeded with it.
    ``hint`` is the reference answer, read only by fake backends.

    ``fixed_length``: generate exactly ``max_new_tokens`` tokens -- end-of-sequence is suppressed (transformers'
    ``min_new_tokens = max_new_tokens``) and stop strings do not end the answer -- so that every model does the same
    work per item whatever it says (vLLM's benchmarks call this ``ignore_eos``). For energy and speed measurements;
    scores of such answers mean little."""

    request_id: str
    prompt: Prompt
    max_new_tokens: int
    stop: tuple[str, ...] = ()
    seed: int | None = None
    hint: str | None = None
    fixed_length: bool = False
    # reuse the key/value cache of the prompt prefix shared with earlier items (hf_stream.PromptCache); backends
    # without such a cache (served, fake) ignore it
    reuse_prefix: bool = False


@dataclass(frozen=True, slots=True)
class LoadRequest:
    """Tells a standby worker which model to load, and where its output goes from now on."""

    spec: str
    trust_remote_code: bool = False
    log_path: str | None = None


@dataclass(frozen=True, slots=True)
class Standby:
    """A standby worker has imported its heavy libraries and waits for a :class:`LoadRequest`."""

    t_mono_s: float


@dataclass(frozen=True, slots=True)
class StopRequest:
    """Ask the worker to finish (an in-flight generation ends early with stop_reason "cancelled")."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What was loaded. ``params_trainable`` is the adapter's parameters for a PEFT model, else params_total.
    ``weight_bytes``: bytes of the weights as held in memory (packed for 4-bit / int8). A served model's
    parameters are None when neither the server, the spec nor the local disk says; its weight bytes are None."""

    display_name: str
    params_total: int | None
    params_trainable: int | None
    weight_bytes: int | None
    dtype: str  # "fp32" | "bf16" | "fp16"
    quant: str  # "none" | "int8" | "nf4" | "fp4" | "dynamic-int8"
    device: str  # "cpu" | "cuda:0" ...
    load_s: float
    peak_rss_bytes: int | None
    peak_cuda_bytes: int | None
    # where the weights came from and what was done to them (core/models/provenance.py)
    provenance: str = ""


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """A load stage in words ("loading weights"); ``fraction`` in [0, 1], or None when unknown."""

    stage: str
    fraction: float | None
    t_mono_s: float


@dataclass(frozen=True, slots=True)
class Loaded:
    info: ModelInfo
    t_mono_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Token:
    """One generated token: its decoded ``text`` (may be "" while a multi-byte character is incomplete) and the
    number of new tokens so far, this one included."""

    request_id: str
    text: str
    n_tokens: int
    t_mono_s: float


@dataclass(frozen=True, slots=True)
class Generated(TokenSpeeds):
    """A finished request. ``tokens_out`` counts generated ids (eos included when the model emitted it).
    ``stop_reason``: "eos" | "stop-string" | "max-tokens" | "length" | "cancelled". The peaks are the worker's
    high-water marks so far (RSS of the worker process; CUDA allocator peak where there is CUDA).
    ``tokens_counted_by`` says where the counts came from: "generated ids" in process; for a served model
    "reported by the server", "counted by greentui" (its tokenizer, here) or "not reported" (counts None)."""

    request_id: str
    text: str
    tokens_in: int | None
    tokens_out: int | None
    started_mono_s: float
    first_token_mono_s: float | None
    last_token_mono_s: float | None
    ended_mono_s: float
    stop_reason: str
    peak_rss_bytes: int | None = None
    peak_cuda_bytes: int | None = None
    tokens_counted_by: str = TOKENS_FROM_IDS

    @property
    def seconds(self) -> float:
        return self.ended_mono_s - self.started_mono_s

    @property
    def ttft_s(self) -> float | None:
        """First new token time minus request start."""
        return None if self.first_token_mono_s is None else self.first_token_mono_s - self.started_mono_s


@dataclass(frozen=True, slots=True)
class WorkerFailed:
    """The worker cannot go on. ``failure`` is one of FAILURES; ``reason`` one line for the user; ``detail`` a
    traceback or log tail for the record (may be "")."""

    failure: str
    reason: str
    detail: str = ""


WorkerMessage = Standby | LoadProgress | Loaded | Token | Generated | WorkerFailed

ProgressFn = Callable[[str, "float | None"], None]
EmitFn = Callable[[Token], None]


class Backend(Protocol):
    """What the worker drives: the Hugging Face backend (hf.py), a served model (served.py) or the fake one."""

    def load(self, progress: ProgressFn) -> ModelInfo: ...

    def generate(self, request: GenerateRequest, emit: EmitFn) -> Generated: ...

    def close(self) -> None: ...


class ModelLoadError(Exception):
    """A load that fails for a reason the user can act on. ``failure`` is "load" or "unavailable"; the message is
    one line."""

    def __init__(self, reason: str, failure: str = "load") -> None:
        super().__init__(reason)
        self.reason = reason
        self.failure = failure


class ModelUnavailable(ModelLoadError):
    """The model cannot be had here: not downloaded and no network, a missing package, no such device."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "unavailable")


class SimulatedExit(BaseException):
    """Raised by the fake backend's ``exit_after``: the worker ends without a word, as a dying process would."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code
