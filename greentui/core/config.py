"""The typed configuration a session starts from: what the user asked for, and what the task is.

``SessionConfig`` is everything that defines a session (stored with it so that it can be shown, resumed and
repeated); ``TaskInfo`` is the part of a loaded task that the views, the tally and the verdict need (name, metric,
chance-level baseline, whether scores are continuous). Both travel typed in :class:`~greentui.core.records.
SessionStarted`, so no consumer reads them back out of a dict of strings.

The store keeps them in the session's ``settings_json`` in the flat shape every release has written: the config's
fields at the top level, the task under ``"task_info"`` and its version under ``"task_version"``, beside the extra
facts (host, pid, power statuses, fingerprint...). :func:`stored_settings` writes that shape and
:func:`split_stored_settings` reads it back, also for sessions stored before the typed fields existed.

Pure (the store may import it, as it imports :mod:`greentui.core.records`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from greentui.core.convert import ConvertError, from_plain, to_plain
from greentui.core.measurements import Schedule

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_DELTA",
    "TASK_INFO_KEY",
    "SessionConfig",
    "TaskInfo",
    "split_stored_settings",
    "stored_settings",
]

# Stopping when settled (core/verdict/sequential.py): the default error level and equivalence margin
DEFAULT_ALPHA = 0.05
DEFAULT_DELTA = 0.05  # 5 points of accuracy, or 5 points of energy share (a ratio of 0.82 to 1.22)

TASK_INFO_KEY = "task_info"  # where the stored settings keep the task (SQL reads '$.task_info.metric')
TASK_VERSION_KEY = "task_version"

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_T = TypeVar("_T", bound="DataclassInstance")


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """What a session needs to know of its task once it runs (the items and prompts stay with the task)."""

    id: str
    name: str
    version: str = ""  # sha256 over task.toml + items.jsonl + fixtures ("" when not recorded)
    category: str = ""  # nlp | reasoning | code | sql
    metric: str = "accuracy"
    baseline: float = 0.0  # s0: the chance-level score in [0, 1]
    continuous: bool = False  # scores anywhere in [0, 1] (ROUGE-L) rather than 0/1
    scorer: str = ""


@dataclass(frozen=True)
class SessionConfig:
    """Everything that defines a session; stored with it so that it can be shown, resumed and repeated."""

    model_a: str
    model_b: str
    task: str
    limit: int | None = None
    schedule: Schedule = "alternate"
    power_source: str = "auto"
    sample_hz: float = 10.0
    idle_s: float = 3.0
    country: str | None = None
    grid_intensity: float | None = None
    pue: float = 1.0
    codecarbon: bool = False
    scorer: str | None = None  # for a quick task given as a .jsonl file
    seed: int | None = None  # None: greedy decoding; an int: seeded sampling
    max_new_tokens: int | None = None  # None: the task's own limit
    fixed_length: bool = False  # every answer exactly max_new_tokens long (eos, stop strings ignored): benchmarks
    # reuse the key/value cache of the prompt prefix items share (system text, few-shot turns), as inference servers
    # do; False: every item prefills its whole prompt (transformers models; served models cache as their server does)
    prompt_cache: bool = True
    load_timeout_s: float = 900.0
    item_timeout_s: float = 600.0
    trust_remote_code: bool = False
    stop_on_failure: bool = False
    training_emissions_g: float | None = None
    amortize_answers: float | None = None
    requests_per_day: float = 1e6
    sweep_id: str | None = None  # the sweep's name when the session is part of one (greentui sweep)
    sweep_key: str | None = None  # its content hash inside that sweep (core.run.sweep.content_key)
    # Stopping when settled (core/run/stopping.py): the rule's level, equivalence margin (a fraction: 0.05 = 5
    # points) and item cap, declared before the run; items run in the order seeded by order_seed (None: file
    # order, unless stopping draws one, stored with the session).
    stop_when_settled: bool = False
    alpha: float = DEFAULT_ALPHA
    delta: float = DEFAULT_DELTA
    max_items: int | None = None
    order_seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        plain: dict[str, Any] = to_plain(self)
        return plain

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionConfig:
        """The config from plain data; unknown keys are ignored, missing ones take their defaults; a value of the
        wrong type raises :class:`~greentui.core.convert.ConvertError` (a ``ValueError``)."""
        return from_plain(dict(data), cls)

    @classmethod
    def from_stored(cls, settings: Mapping[str, Any]) -> SessionConfig:
        """The config from a session's stored flat settings, written by any release: a value that no longer fits
        its field takes the field's default (see :func:`split_stored_settings` for the whole split). A session
        stored before ``prompt_cache`` existed prefilled every prompt whole, so a resume goes on doing that."""
        required = {name: str(settings.get(name) or "") for name in ("model_a", "model_b", "task")}
        if "prompt_cache" not in settings:
            settings = {**settings, "prompt_cache": False}
        return _tolerant(cls, settings, required)


def _tolerant(kind: type[_T], data: Mapping[str, Any], required: Mapping[str, Any]) -> _T:
    """``kind`` from stored data written by any release: a value that does not fit its field (a hand-edited or
    older settings blob) falls back to the field's default instead of making the session unreadable."""
    merged = {**required, **{k: v for k, v in data.items() if v is not None or k not in required}}
    try:
        return from_plain(merged, kind)
    except ConvertError:
        kept = dict(required)
        for name in (f.name for f in dataclasses.fields(kind)):
            if name in merged:
                try:
                    from_plain({**kept, name: merged[name]}, kind)
                except ConvertError:
                    continue
                kept[name] = merged[name]
        return from_plain(kept, kind)


def stored_settings(task: TaskInfo, config: SessionConfig, extras: Mapping[str, Any]) -> dict[str, Any]:
    """The flat settings the store writes: the config's fields, the task, its version, then the extra facts."""
    return {**config.to_dict(), TASK_INFO_KEY: to_plain(task), TASK_VERSION_KEY: task.version, **extras}


def split_stored_settings(
    settings: Mapping[str, Any], *, task_id: str, task_name: str, model_a: str, model_b: str
) -> tuple[TaskInfo, SessionConfig, dict[str, Any]]:
    """Typed task and config, and the extra facts, from stored flat settings (any release's; see the docstring).

    The keyword arguments come from the session's own columns and fill what old settings never recorded.
    """
    raw_task = settings.get(TASK_INFO_KEY)
    task = _tolerant(
        TaskInfo,
        raw_task if isinstance(raw_task, Mapping) else {},
        {"id": task_id, "name": task_name},
    )
    config = _tolerant(SessionConfig, settings, {"model_a": model_a, "model_b": model_b, "task": task_id})
    if not task.version and isinstance(settings.get(TASK_VERSION_KEY), str):
        task = dataclasses.replace(task, version=settings[TASK_VERSION_KEY])
    known = {f.name for f in dataclasses.fields(SessionConfig)} | {TASK_INFO_KEY, TASK_VERSION_KEY}
    extras = {k: v for k, v in settings.items() if k not in known}
    return task, config, extras
