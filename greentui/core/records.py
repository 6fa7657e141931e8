"""The events every layer shares: frozen dataclasses, units in the field names.

Everything a session produces is an *event* (a subclass of :class:`Event`). One event stream feeds three
consumers -- the store writer, the TUI bridge and the headless printer -- and the store replays the same
events for the history screen, so a stored session looks exactly like a live one.

The measurement records the events carry (power samples, energy windows, the grid intensity) live in
:mod:`greentui.core.measurements` and the typed session configuration in :mod:`greentui.core.config`; both are
re-exported here, so the store and every other layer import the shared records from this one module.
Events become plain data (the journal, sweep workers) through :mod:`greentui.core.convert`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from greentui.core.config import (
    DEFAULT_ALPHA,
    DEFAULT_DELTA,
    SessionConfig,
    TaskInfo,
    split_stored_settings,
    stored_settings,
)
from greentui.core.convert import from_plain, to_plain
from greentui.core.measurements import (
    CONTENDED_CPU_SHARE,
    SIDES,
    GridIntensity,
    Measurement,
    PowerSample,
    Prompt,
    Quality,
    Schedule,
    SessionStatus,
    Side,
    TokenSpeeds,
    is_correct,
)

__all__ = [
    "CONTENDED_CPU_SHARE",
    "DEFAULT_ALPHA",
    "DEFAULT_DELTA",
    "EVENT_TYPES",
    "SIDES",
    "Event",
    "GridIntensity",
    "IdleMeasured",
    "ItemScored",
    "ItemStarted",
    "Measurement",
    "ModelLoaded",
    "ModelLoading",
    "PowerSample",
    "PowerSampled",
    "Prompt",
    "Quality",
    "RunFailed",
    "Schedule",
    "SessionConfig",
    "SessionFinished",
    "SessionStarted",
    "SessionStatus",
    "Side",
    "StoppingChecked",
    "TaskInfo",
    "TokenEvent",
    "TokenSpeeds",
    "event_from_dict",
    "is_correct",
    "model_label_with_provenance",
]


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event in the session stream. ``kind`` names the type for storage and replay."""

    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (:func:`greentui.core.convert.to_plain`) tagged with the event's ``kind``."""
        data: dict[str, Any] = to_plain(self)
        data["kind"] = self.kind
        return data


@dataclass(frozen=True, slots=True)
class SessionStarted(Event):
    """The session's first event: what runs (typed task and configuration), how it is measured, and ``settings``,
    the extra facts recorded at the start (host, pid, power statuses, fingerprint, served energy, sandbox,
    stopping...)."""

    kind: ClassVar[str] = "session_started"
    session_id: str
    task_id: str
    task_name: str
    n_items: int  # items per side
    schedule: Schedule
    model_a: str  # ModelSpec text form
    model_b: str
    power_sources: tuple[str, ...]  # e.g. ("estimate",) or ("nvml:gpu0", "rapl:package-0")
    power_quality: Quality
    power_note: str  # a human line: "estimated (no RAPL, no GPU)"
    grid: GridIntensity
    started_unix_s: float
    t_mono_s: float
    task: TaskInfo
    config: SessionConfig
    settings: dict[str, Any] = field(default_factory=dict)

    def stored_settings(self) -> dict[str, Any]:
        """The flat settings the store keeps (config fields, ``task_info``, ``task_version``, the extra facts)."""
        return stored_settings(self.task, self.config, self.settings)

    @staticmethod
    def typed_settings(
        settings: Mapping[str, Any], *, task_id: str, task_name: str, model_a: str, model_b: str
    ) -> tuple[TaskInfo, SessionConfig, dict[str, Any]]:
        """``task``, ``config`` and the extra facts from stored flat settings (any release's)."""
        return split_stored_settings(settings, task_id=task_id, task_name=task_name, model_a=model_a, model_b=model_b)


@dataclass(frozen=True, slots=True)
class ModelLoading(Event):
    """Load progress of one side's model: ``stage`` in words, ``fraction`` in [0, 1] or None if unknown."""

    kind: ClassVar[str] = "model_loading"
    side: Side
    stage: str
    fraction: float | None
    t_mono_s: float


@dataclass(frozen=True, slots=True)
class ModelLoaded(Event):
    kind: ClassVar[str] = "model_loaded"
    side: Side
    spec: str
    display_name: str
    # None for a served model whose parameter count neither the server, the spec (params=) nor the disk gives
    params_total: int | None
    params_trainable: int | None  # the adapter's parameters for a PEFT model, else equal to params_total
    weight_bytes: int | None  # None for a served model: its weights are the server's
    dtype: str
    quant: str
    device: str
    load_s: float
    peak_rss_bytes: int | None
    peak_cuda_bytes: int | None
    t_mono_s: float
    # where the weights came from and what was done to them: "from Q4_1 GGUF, dequantized to fp32, then
    # bitsandbytes nf4" ("" when not known: sessions stored before greentui recorded it)
    provenance: str = ""
    # The spec names a PEFT adapter; ``base_spec`` is the spec without it (fine-tune mode: B = A + an adapter).
    # Carried here so no consumer parses spec text; defaults for events built before these fields existed.
    has_adapter: bool = False
    base_spec: str = ""

    @property
    def label(self) -> str:
        """``SmolLM2-135M-Instruct · from Q4_1 GGUF, dequantized to fp32``: the name with the weights' origin."""
        return model_label_with_provenance(self.display_name or self.spec, self.provenance)


def model_label_with_provenance(name: str, provenance: str) -> str:
    """A model's name followed by where its weights came from, when that is known."""
    return f"{name} · {provenance}" if provenance else name


@dataclass(frozen=True, slots=True)
class IdleMeasured(Event):
    """The idle baseline sampled before the first item (seconds == 0 means it was skipped).

    ``contention_share``: the share of the machine's CPU time that went to other programs during the baseline;
    ``contended``: above CONTENDED_CPU_SHARE (or another process had work on the models' GPU), so the baseline
    is not "idle" and dynamic energy is not computed from it.
    """

    kind: ClassVar[str] = "idle_measured"
    seconds: float
    joules: float | None
    power_w: float | None
    quality: Quality
    source: str
    t_mono_s: float
    contention_share: float | None = None
    contended: bool = False


@dataclass(frozen=True, slots=True)
class PowerSampled(Event):
    kind: ClassVar[str] = "power_sampled"
    sample: PowerSample


@dataclass(frozen=True, slots=True)
class ItemStarted(Event):
    kind: ClassVar[str] = "item_started"
    side: Side
    item_id: str
    index: int  # 0-based position of the item in the run order (the task's, or seeded: same for A and B)
    prompt: str  # the user-visible question, not the full chat-templated prompt
    t_mono_s: float


@dataclass(frozen=True, slots=True)
class TokenEvent(Event):
    """One generated token (decoded piece of text) as it arrives from the worker."""

    kind: ClassVar[str] = "token"
    side: Side
    item_id: str
    text: str
    n_tokens: int  # new tokens so far, this one included
    t_mono_s: float


@dataclass(frozen=True, slots=True)
class ItemScored(TokenSpeeds, Event):
    """One finished and scored item, with its energy window. Committed to the store as soon as it arrives."""

    kind: ClassVar[str] = "item_scored"
    side: Side
    item_id: str
    index: int
    prompt: str
    output: str
    answer: str | None  # what the task's extraction rule took out of the output
    reference: str
    score: float  # in [0, 1]
    tokens_in: int | None  # None: a served model whose server reported no usage (and no tokenizer here)
    tokens_out: int | None
    ttft_s: float | None
    seconds: float
    joules: float | None
    energy_quality: Quality
    energy_source: str
    energy_flagged: bool
    started_mono_s: float
    first_token_mono_s: float | None
    last_token_mono_s: float | None
    ended_mono_s: float
    stop_reason: str = "eos"  # eos / stop-string / max-tokens
    # What the energy figure rests on (None / "" in sessions stored before greentui recorded it):
    measurement_method: str | None = None  # "counter" (hardware counter delta) | "integrated" (power samples) | "none"
    energy_scope: str | None = None  # "device" (whole device) | "process tree" (this model's processes) | "machine"
    joules_machine: float | None = None  # the whole machine's estimate over the window, when joules is per process
    contention_share: float | None = None  # share of the machine's CPU time that went to other programs
    contended: bool = False  # above CONTENDED_CPU_SHARE, or another process had work on the models' GPU
    gpu_other_processes: int | None = None  # processes outside the session with work on the GPU (None: no NVML)
    gpu_temperature_c: float | None = None  # hottest GPU reading inside the window, where NVML reports it
    score_detail: str = ""  # the scorer's one line: why this item scored what it did
    # where the token counts came from: "generated ids" (in process); for a served model "reported by the server",
    # "counted by greentui" (its tokenizer, found locally) or "not reported" (then tokens_in/out are None)
    tokens_counted_by: str = "generated ids"

    @property
    def correct(self) -> bool:
        return is_correct(self.score)

    @property
    def joules_per_token(self) -> float | None:
        if self.joules is None or not self.tokens_out:
            return None
        return self.joules / self.tokens_out


@dataclass(frozen=True, slots=True)
class RunFailed(Event):
    """One side's model failed (load error, crash, OOM, kill, time limit). The other side may go on."""

    kind: ClassVar[str] = "run_failed"
    side: Side
    reason: str  # one line for the user
    failure: str  # "load", "crash", "oom", "killed", "timeout", "unavailable"
    t_mono_s: float


@dataclass(frozen=True, slots=True)
class StoppingChecked(Event):
    """The anytime-valid stopping rule after one more complete A/B pair (core/verdict/sequential.py).

    Accuracy: B - A as fractions in [-1, 1]; energy: A's share E_A / (E_A + E_B) in [0, 1] (0.5: equal cost; None
    until a pair carries joules on both sides). Outcomes: "A", "B", "equivalent" or "not settled". ``stops``: the
    session ends after this pair (it runs with stop_when_settled and the comparison has settled).
    """

    kind: ClassVar[str] = "stopping_checked"
    item_id: str  # the item whose second side completed the pair
    n_pairs: int
    population: int  # the task's items (the sequences cover the mean over all of them)
    planned: int  # items per side the run does without stopping
    alpha: float
    delta: float  # equivalence margin, as a fraction (0.05 = 5 points)
    accuracy_estimate: float | None
    accuracy_lo: float
    accuracy_hi: float
    accuracy_outcome: str
    energy_pairs: int
    energy_estimate: float | None
    energy_lo: float | None
    energy_hi: float | None
    energy_outcome: str
    settled: bool
    stops: bool
    t_mono_s: float


@dataclass(frozen=True, slots=True)
class SessionFinished(Event):
    kind: ClassVar[str] = "session_finished"
    status: SessionStatus
    reason: str
    t_mono_s: float
    ended_unix_s: float
    # session-level figures known only at the end: {"sample_rate_hz": 9.8, "codecarbon": {"kwh": .., "g": ..}}
    measurements: dict[str, Any] = field(default_factory=dict)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        SessionStarted,
        ModelLoading,
        ModelLoaded,
        IdleMeasured,
        PowerSampled,
        ItemStarted,
        TokenEvent,
        ItemScored,
        RunFailed,
        StoppingChecked,
        SessionFinished,
    )
}


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output (the journal's replay, sweep workers' streams).

    A ``session_started`` written before the typed fields existed carries the task and the config in its flat
    ``settings``: they are read from there. Raises ``ValueError`` for data that fits no event.
    """
    data = dict(data)
    kind = data.pop("kind", None)
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"not an event kind: {kind!r}")
    if cls is SessionStarted and ("task" not in data or "config" not in data):
        task, config, extras = split_stored_settings(
            data.get("settings") or {},
            task_id=str(data.get("task_id", "")),
            task_name=str(data.get("task_name", "")),
            model_a=str(data.get("model_a", "")),
            model_b=str(data.get("model_b", "")),
        )
        data.update(task=to_plain(task), config=to_plain(config), settings=extras)
    return from_plain(data, cls)
