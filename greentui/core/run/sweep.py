"""Sweeps: one TOML file that expands into many head-to-head sessions (each candidate against the reference, per task).

A sweep file (``docs/SWEEPS.md``)::

    name = "small-vs-today"
    reference = "qwen2.5-1.5b@bf16"                       # model A of every session: the model run today
    candidates = ["qwen2.5-0.5b", "smollm2-1.7b"]         # model B, one session per candidate and task
    precisions = ["bf16", "nf4"]                          # optional: each candidate without options, at each
    tasks = ["arithmetic", "gsm8k"]
    limit = 200                                           # any other per-session option (SessionConfig field)

Every session is keyed by a content hash of what determines its figures (both specs, the task and the version of
its files, the options that differ from their defaults), so running a sweep again finds what is done (skip it),
what was interrupted (resume it) and what is new (run it). Nothing here touches the store: this module plans,
the sweep driver (``greentui.sweeps``) compares the plan with the store and runs it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greentui.core.evaluate.task_schema import KeyLines  # the task files' file:line finder, shared on purpose
from greentui.core.models.spec import ModelSpec, SpecError
from greentui.core.run.option_checks import option_problem
from greentui.core.run.session import SessionConfig
from greentui.core.run.stopping import check_config
from greentui.core.verdict.sequential import StoppingError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]  # only installed on 3.10

KEY_VERSION = 1  # bump when the content of a key changes meaning (every session would then run again)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SWEEP_KEYS = ("name", "description", "reference", "candidates", "precisions", "tasks")
# Session options that a sweep file may not set: the sweep itself decides them.
_DECIDED = frozenset({"model_a", "model_b", "task", "sweep_id", "sweep_key"})
# Options that change whether a session can run, not what it measures: left out of the content key, so raising a
# timeout does not run a finished sweep again.
_NOT_KEYED = frozenset({"load_timeout_s", "item_timeout_s", "trust_remote_code"})


class SweepError(Exception):
    """A sweep that cannot be planned; one line, ``file:line: what is wrong`` where the file is at fault."""


@dataclass(frozen=True)
class Sweep:
    """A checked sweep file. ``options`` holds only the session options the file sets (never defaults)."""

    name: str
    reference: str  # canonical spec text (str(ModelSpec))
    candidates: tuple[str, ...]  # canonical, after precisions were applied
    tasks: tuple[str, ...]
    options: Mapping[str, Any]
    description: str = ""
    path: Path | None = None
    lines: Mapping[str, int] = dataclasses.field(default_factory=dict)  # top-level key -> its line in the file

    def task_path(self, task: str) -> str:
        """Where the session finds ``task``: a relative task folder or file is read relative to the sweep file."""
        looks_like_path = any(sep in task for sep in "/\\") or task.endswith((".jsonl", ".toml"))
        if self.path is None or not looks_like_path or Path(task).expanduser().is_absolute():
            return task
        return str(self.path.parent / task)

    def to_dict(self) -> dict[str, Any]:
        """What the store keeps with the sweep (``sweeps.definition_json``)."""
        return {
            "name": self.name,
            "description": self.description,
            "reference": self.reference,
            "candidates": list(self.candidates),
            "tasks": list(self.tasks),
            "options": dict(self.options),
            "path": str(self.path) if self.path else None,
        }


@dataclass(frozen=True)
class PlannedSession:
    """One head-to-head of the sweep: ``config.model_a`` is the reference, ``config.model_b`` the candidate."""

    key: str  # content hash (hex sha256), the session's identity inside its sweep
    index: int  # position in the plan, from 0
    task: str  # as the sweep file names it
    task_id: str
    task_version: str
    candidate: str
    reference: str
    config: SessionConfig

    @property
    def label(self) -> str:
        return f"{self.candidate} vs {self.reference} · {self.task_id}"


def session_options() -> dict[str, Any]:
    """The per-session options a sweep file may set, with their resolved types (from :class:`SessionConfig`)."""
    hints = typing.get_type_hints(SessionConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(SessionConfig) if f.name not in _DECIDED}


def _check_option(name: str, value: Any, kind: Any) -> str | None:
    """Why ``value`` cannot be option ``name`` of type ``kind``, or None when it fits."""
    origin = typing.get_origin(kind)
    if origin is typing.Literal:
        choices = typing.get_args(kind)
        return None if value in choices else f"{name} must be one of {', '.join(map(repr, choices))}, not {value!r}"
    if origin in (typing.Union, types.UnionType):
        parts = [a for a in typing.get_args(kind) if a is not type(None)]
        problems = [_check_option(name, value, part) for part in parts]
        return None if any(p is None for p in problems) else problems[0]
    if kind is bool:
        return None if isinstance(value, bool) else f"{name} must be true or false, not {value!r}"
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"{name} must be a whole number, not {value!r}"
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"{name} must be a number, not {value!r}"
    if kind is str:
        return None if isinstance(value, str) else f"{name} must be a string, not {value!r}"
    return None  # a structured option (none today): SessionConfig checks it when the session is prepared


def _canonical_spec(text: str) -> str:
    return str(ModelSpec.parse(text))


def _with_precision(spec_text: str, precision: str) -> str:
    """``spec_text`` at ``precision`` (a dtype such as bf16 or a quantization such as nf4)."""
    spec = ModelSpec.parse(spec_text)
    probe = ModelSpec.parse(f"fake:probe@{precision}")
    if probe.device != "auto":
        raise SpecError(f"{precision!r} is a device, not a precision", precision)
    changed = dataclasses.replace(
        spec,
        dtype=probe.dtype if probe.dtype != "auto" else spec.dtype,
        quant=probe.quant if probe.quant != "none" else spec.quant,
    )
    return str(ModelSpec.parse(str(changed)))  # parsed again: the combination is checked as any spec is


def _has_options(spec_text: str) -> bool:
    spec = ModelSpec.parse(spec_text)
    return spec.dtype != "auto" or spec.quant != "none"


def parse_sweep(text: str, *, path: Path | None = None) -> Sweep:
    """Check a sweep file's text (``path`` names it in messages). Raises :class:`SweepError`."""
    where = str(path) if path else "<sweep>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(at.group(1)) if at else max(1, len(text.splitlines()))
        what = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        raise SweepError(f"{where}:{line}: TOML syntax error: {what}") from None
    keys = KeyLines(path or Path(where), text)
    lines = text.splitlines()

    def fail(key: str, what: str, element: str | None = None) -> SweepError:
        line = keys.line("", key)
        if element is not None:  # the element's own line in a list written over several lines
            quoted = (f'"{element}"', f"'{element}'")
            line = next((n for n in range(line, len(lines) + 1) if any(q in lines[n - 1] for q in quoted)), line)
        return SweepError(f"{where}:{line}: {what}")

    options_known = session_options()
    for key in data:
        if key not in _SWEEP_KEYS and key not in options_known:
            known = ", ".join((*_SWEEP_KEYS, *sorted(options_known)))
            raise fail(key, f"unknown key {key!r} (known: {known})")
    for key in ("name", "reference", "candidates", "tasks"):
        if key not in data:
            raise fail(key, f"missing field {key!r}")

    name = data["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail(
            "name",
            f"name must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), not {name!r}",
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "description must be a string")

    def spec_list(key: str) -> list[str]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise fail(key, f"{key} must be a list of non-empty strings")
        return [v.strip() for v in value]

    reference_text = data["reference"]
    if not isinstance(reference_text, str) or not reference_text.strip():
        raise fail("reference", 'reference must be a model spec, e.g. "smollm2-135m@fp32"')
    try:
        reference = _canonical_spec(reference_text.strip())
    except SpecError as exc:
        raise fail("reference", f"reference: {exc}") from None

    candidates: list[str] = []
    precisions = spec_list("precisions")
    for text_form in spec_list("candidates"):
        try:
            if precisions and not _has_options(text_form):
                expanded = [_with_precision(text_form, p) for p in precisions]
            else:
                expanded = [_canonical_spec(text_form)]
        except SpecError as exc:
            raise fail("candidates", f"candidate {text_form!r}: {exc}", element=text_form) from None
        for spec in expanded:
            if spec == reference:
                raise fail("candidates", f"candidate {spec!r} is the reference itself", element=text_form)
            if spec in candidates:
                raise fail("candidates", f"candidate {spec!r} is listed twice", element=text_form)
            candidates.append(spec)
    if not candidates:
        raise fail("candidates", "candidates must name at least one model")
    tasks = spec_list("tasks")
    if not tasks:
        raise fail("tasks", "tasks must name at least one task")
    duplicate = next((t for i, t in enumerate(tasks) if t in tasks[:i]), None)
    if duplicate is not None:
        raise fail("tasks", f"task {duplicate!r} is listed twice", element=duplicate)

    options: dict[str, Any] = {}
    for key, kind in options_known.items():
        if key in data:
            problem = _check_option(key, data[key], kind) or option_problem(key, data[key])
            if problem:
                raise fail(key, problem)
            options[key] = float(data[key]) if kind is float else data[key]
    try:
        SessionConfig(model_a=reference, model_b=candidates[0], task=tasks[0], **options)
    except (TypeError, ValueError) as exc:  # a SessionConfig that checks its own fields says what is wrong
        raise fail(next(iter(options), "name"), str(exc)) from None
    if options.get("limit") is not None and options["limit"] < 1:
        raise fail("limit", f"limit must be at least 1, not {options['limit']}")
    _check_stopping(options, fail)
    return Sweep(
        name=name,
        reference=reference,
        candidates=tuple(candidates),
        tasks=tuple(tasks),
        options=options,
        description=description,
        path=path,
        lines={key: keys.line("", key) for key in data},
    )


def _check_stopping(options: Mapping[str, Any], fail: Callable[[str, str], SweepError]) -> None:
    """The stopping options (stop_when_settled, alpha, delta, max_items, order_seed) checked as the session
    would check them, but blamed on their own line of the file."""
    config = SessionConfig(model_a="a", model_b="b", task="t", **options)
    for key in ("alpha", "delta", "max_items", "stop_when_settled"):
        if key not in options:
            continue
        alone = {name: getattr(config, name) for name in ("schedule", key)}
        try:
            check_config(SessionConfig(model_a="a", model_b="b", task="t", **alone))
        except StoppingError as exc:
            what = str(exc).replace("--max-items", "max_items").replace("--stop-when-settled", "stop_when_settled")
            if key == "delta":  # the file names the field, a fraction; the message speaks of points
                what = (
                    f"delta (the equivalence margin, a fraction: 0.05 = 5 points) must be in (0, 1), not {config.delta}"
                )
            raise fail(key, what) from None


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file. Raises :class:`SweepError`."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SweepError(f"{file}: no such sweep file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError(f"{file}: cannot read it ({exc})") from None
    return parse_sweep(text, path=file)


def content_key(reference: str, candidate: str, task_id: str, task_version: str, options: Mapping[str, Any]) -> str:
    """The sha256 (hex) of what determines a session's figures. Options equal to their default are left out, so a
    newer greentui that adds an option keeps the keys of sessions that never set it."""
    defaults = {f.name: f.default for f in dataclasses.fields(SessionConfig)}
    keyed = {
        name: value
        for name, value in sorted(options.items())
        if name not in _NOT_KEYED and name not in _DECIDED and value != defaults.get(name)
    }
    payload = {
        "key_version": KEY_VERSION,
        "reference": reference,
        "candidate": candidate,
        "task_id": task_id,
        "task_version": task_version,
        "options": keyed,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _task_identity(task: str, scorer: str | None) -> tuple[str, str]:
    """(task id, version) of a task named in a sweep file: its files are read, nothing is run."""
    from greentui.core.evaluate.tasks import TaskError, load_task

    try:
        loaded = load_task(task, scorer=scorer)
    except TaskError as exc:
        raise SweepError(f"task {task!r}: {exc}") from None
    return loaded.id, loaded.version


def expand(
    sweep: Sweep, *, task_identity: Callable[[str, str | None], tuple[str, str]] | None = None
) -> list[PlannedSession]:
    """The sweep's sessions, task by task, candidate by candidate (the order they run in).

    ``task_identity(task, scorer) -> (task_id, version)`` defaults to loading the task's files; a task that cannot
    be loaded raises :class:`SweepError` naming the sweep file's line.
    """
    identify = task_identity or _task_identity
    planned: list[PlannedSession] = []
    for task in sweep.tasks:
        try:
            task_id, version = identify(sweep.task_path(task), sweep.options.get("scorer"))
        except SweepError as exc:
            where = f"{sweep.path}:{sweep.lines.get('tasks', 1)}: " if sweep.path else ""
            raise SweepError(f"{where}{exc}") from None
        for candidate in sweep.candidates:
            key = content_key(sweep.reference, candidate, task_id, version, sweep.options)
            config = SessionConfig(
                model_a=sweep.reference,
                model_b=candidate,
                task=sweep.task_path(task),
                sweep_id=sweep.name,
                sweep_key=key,
                **sweep.options,
            )
            planned.append(
                PlannedSession(
                    key=key,
                    index=len(planned),
                    task=task,
                    task_id=task_id,
                    task_version=version,
                    candidate=candidate,
                    reference=sweep.reference,
                    config=config,
                )
            )
    return planned
