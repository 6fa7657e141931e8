"""Tasks: a folder with ``task.toml`` (what to ask, how to score) and ``items.jsonl`` (one item per line), or a
quick task made of one ``.jsonl`` file plus a scorer name. The format is documented in ``docs/TASK_FORMAT.md``.

Every mistake in a task file is reported as ``file:line: what is wrong`` (:class:`TaskError`).
"""

from __future__ import annotations

__all__ = [
    "CATEGORIES",
    "FewShot",
    "Task",
    "TaskError",
    "TaskItem",
    "TaskUnavailable",
    "builtin_task_dirs",
    "builtin_task_folders",
    "builtin_tasks",
    "load_quick_task",
    "load_task",
    "load_task_folder",
    "unavailable_builtin_tasks",
]

import re
from pathlib import Path

from greentui.core.evaluate.scoring import (
    SCORERS,
)
from greentui.core.evaluate.task_schema import CATEGORIES, KeyLines, load_task_folder, read_items_file, task_version
from greentui.core.evaluate.task_types import FewShot, Task, TaskError, TaskItem, TaskUnavailable

_SCORER_CATEGORY = {"numeric": "reasoning", "code_pass_at_1": "code", "sql_execution": "sql"}


# ------------------------------------------------------------------------------------------------------------------
# Finding tasks
# ------------------------------------------------------------------------------------------------------------------


def builtin_task_dirs(package_dir: Path | None = None) -> list[Path]:
    """Where built-in tasks live: ``greentui/builtin_tasks`` (a wheel force-includes ``tasks/`` there) and the
    repository's ``tasks/`` next to the package (a checkout or an editable install)."""
    package = package_dir or Path(__file__).resolve().parents[2]
    return [d for d in (package / "builtin_tasks", package.parent / "tasks") if d.is_dir()]


def builtin_task_folders(package_dir: Path | None = None) -> dict[str, Path]:
    """Built-in task id -> folder, without loading anything (the first location wins)."""
    found: dict[str, Path] = {}
    for root in builtin_task_dirs(package_dir):
        for folder in sorted(root.iterdir()):
            if (folder / "task.toml").is_file():
                found.setdefault(folder.name, folder)
    return found


def builtin_tasks() -> list[Task]:
    """Every usable built-in task, loaded and checked, sorted by id (for ``greentui tasks`` and the setup screen);
    a benchmark whose data package is not installed is left out (see :func:`unavailable_builtin_tasks`)."""
    tasks = []
    for name, folder in sorted(builtin_task_folders().items()):
        try:
            tasks.append(_load_builtin(name, folder))
        except TaskUnavailable:
            continue
    return tasks


def unavailable_builtin_tasks() -> dict[str, str]:
    """Built-in task id -> why it cannot be used here (its data package is not installed)."""
    missing = {}
    for name, folder in sorted(builtin_task_folders().items()):
        try:
            _load_builtin(name, folder)
        except TaskUnavailable as exc:
            missing[name] = str(exc)
    return missing


def _load_builtin(name: str, folder: Path) -> Task:
    task = load_task_folder(folder)
    if task.id != name:
        raise TaskError(
            f"{folder / 'task.toml'}:{KeyLines(folder / 'task.toml').line('', 'id')}: "
            f"id {task.id!r} must equal the folder name {name!r}"
        )
    return task


def load_task(name_or_path: str, *, scorer: str | None = None, baseline: float | None = None) -> Task:
    """A built-in task id, a task folder (or its task.toml), or a ``.jsonl`` file plus ``scorer`` for a quick task.

    ``baseline`` (s0) applies to quick tasks only (default 0). Raises :class:`TaskError`.
    """
    text = str(name_or_path)
    looks_like_path = any(sep in text for sep in "/\\") or text.endswith((".jsonl", ".toml")) or text.startswith(".")
    builtins = builtin_task_folders()
    if not looks_like_path and text in builtins:
        if scorer is not None:
            raise TaskError(f"task {text!r} declares its scorer; --scorer is only for a .jsonl quick task")
        return _load_builtin(text, builtins[text])
    path = Path(text).expanduser()
    if path.is_file() and path.suffix == ".jsonl":
        if scorer is None:
            raise TaskError(f"{path}: a .jsonl task needs a scorer (--scorer {'|'.join(SCORERS)})")
        return load_quick_task(path, scorer, baseline=baseline)
    if path.is_file() and path.name == "task.toml":
        path = path.parent
    if path.is_dir():
        if scorer is not None:
            raise TaskError(f"{path}: the task folder declares its scorer; --scorer is only for a .jsonl quick task")
        return load_task_folder(path)
    known = ", ".join(builtins) or "none found"
    raise TaskError(f"unknown task {text!r}: not a built-in task ({known}) and no such task folder or .jsonl file")


def load_quick_task(path: Path, scorer: str, *, baseline: float | None = None) -> Task:
    """A task from one ``.jsonl`` file: the prompt is the first input field as it is, nothing else."""
    path = Path(path)
    if scorer not in SCORERS:
        raise TaskError(f"unknown scorer {scorer!r} (known: {', '.join(SCORERS)})")
    info = SCORERS[scorer]
    if info.required_options:
        key = info.required_options[0]
        raise TaskError(
            f"{path}: scorer {scorer} needs {key}; write a task folder with task.toml ([scorer_options] {key} = ...)"
        )
    if baseline is not None and not 0.0 <= baseline <= 1.0:
        raise TaskError(f"baseline must be a score in [0, 1], not {baseline}")
    items = read_items_file(path, [], scorer=scorer, rule=info.default_rule, labels=(), quick=True)
    first_field = next(iter(items[0].input))
    for item in items:
        if first_field not in item.input:
            raise TaskError(
                f"{path}: item {item.id!r} lacks input field {first_field!r} (the first item's first "
                "field, which a quick task uses as the prompt)"
            )
    labels = tuple(dict.fromkeys(item.reference for item in items)) if info.default_rule == "label" else ()
    stem = re.sub(r"[^A-Za-z0-9-]+", "-", path.stem).strip("-") or "quick"
    version_extra = f"scorer={scorer};baseline={baseline or 0.0}".encode()
    return Task(
        id=stem,
        name=path.stem,
        description=f"quick task from {path.name}",
        category=_SCORER_CATEGORY.get(scorer, "nlp"),
        scorer=scorer,
        metric=info.metric,
        baseline=float(baseline or 0.0),
        max_new_tokens=info.default_max_new_tokens,
        stop=(),
        continuous=info.continuous,
        licence="not stated",
        provenance=f"user file {path.name}",
        items=items,
        path=path,
        version=task_version([path], version_extra),
        system=None,
        user_template="{" + first_field + "}",
        extract_rule=info.default_rule,
        labels=labels,
    )
