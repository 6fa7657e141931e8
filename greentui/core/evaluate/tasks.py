"""Tasks: a folder with ``task.toml`` (what to ask, how to score) and ``items.jsonl`` (one item per line), or a
quick task made of one ``.jsonl`` file plus a scorer name. The format is documented in ``docs/TASK_FORMAT.md``.

Every mistake in a task file is reported as ``file:line: what is wrong`` (:class:`TaskError`).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greentui.core.evaluate.packaged import PackagedDataError, PackagedSource, PackageMissing, read_items
from greentui.core.evaluate.scoring import (
    EXTRACT_RULES,
    SCORERS,
    ScoreContext,
    ScoreResult,
    normalize_text,
    parse_number,
    score_output,
)
from greentui.core.records import Prompt
from greentui.core.textfile import TextFileError, read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]  # only installed on 3.10

CATEGORIES = ("nlp", "reasoning", "code", "sql")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_TOP_KEYS = {
    "id",
    "name",
    "description",
    "category",
    "scorer",
    "metric",
    "baseline",
    "max_new_tokens",
    "stop",
    "licence",
    "provenance",
    "prompt",
    "extract",
    "scorer_options",
    "source",
}
_REQUIRED = ("id", "name", "category", "scorer")
_KIND_NAMES: dict[Any, str] = {
    str: "a string",
    int: "a whole number",
    (int, float): "a number",
    list: "a list",
    dict: "a table",
}
_SCORER_CATEGORY = {"numeric": "reasoning", "code_pass_at_1": "code", "sql_execution": "sql"}


class TaskError(Exception):
    """A task that cannot be used; the message is one line, ``file:line: what is wrong`` where a file is at fault."""


class TaskUnavailable(TaskError):
    """A built-in benchmark whose data package is not installed (listed as such, not an error in the task)."""


@dataclass(frozen=True)
class TaskItem:
    id: str
    input: dict[str, Any]  # the fields the prompt template uses
    reference: str  # the gold answer as text
    question: str  # short display text for the live view
    tests: str | None = None  # code_pass_at_1: Python asserts run after the model's code
    prelude: str | None = None  # code_pass_at_1: trusted task code placed before the model's (HumanEval's prompt)
    extra: dict[str, Any] = field(default_factory=dict)  # any other keys of the item, kept as they were


@dataclass(frozen=True)
class FewShot:
    input: dict[str, Any]
    output: str


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    description: str
    category: str  # nlp | reasoning | code | sql
    scorer: str
    metric: str
    baseline: float  # s0: chance-level score in [0, 1]
    max_new_tokens: int
    stop: tuple[str, ...]
    continuous: bool  # scores anywhere in [0, 1] (ROUGE-L) rather than 0/1
    licence: str
    provenance: str
    items: tuple[TaskItem, ...]
    path: Path  # the task folder, or the .jsonl file of a quick task
    version: str  # sha256 over task.toml + items.jsonl + fixtures
    system: str | None = None
    user_template: str = "{text}"
    fewshot: tuple[FewShot, ...] = ()
    extract_rule: str = "full"
    labels: tuple[str, ...] = ()
    scorer_options: dict[str, Any] = field(default_factory=dict)

    def build_prompt(self, item: TaskItem) -> Prompt:
        """Chat messages (system, few-shot user/assistant turns, the question) and the same flattened to text."""
        messages: list[dict[str, str]] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        for shot in self.fewshot:
            messages.append({"role": "user", "content": self.user_template.format(**shot.input)})
            messages.append({"role": "assistant", "content": shot.output})
        messages.append({"role": "user", "content": self.user_template.format(**item.input)})
        blocks = [self.system] if self.system else []
        turns = messages[1:] if self.system else messages
        for i in range(0, len(turns) - 1, 2):
            blocks.append(f"{turns[i]['content']}\n{turns[i + 1]['content']}")
        blocks.append(turns[-1]["content"] + "\n")
        return Prompt(messages=tuple(messages), plain="\n\n".join(blocks))

    def score(self, item: TaskItem, output: str) -> ScoreResult:
        """Score one model output for ``item`` with the task's scorer and extraction rule."""
        context = ScoreContext(
            extract_rule=self.extract_rule,
            labels=self.labels,
            options=self.scorer_options,
            base_dir=self.path if self.path.is_dir() else self.path.parent,
            tests=item.tests,
            prelude=item.prelude,
        )
        return score_output(self.scorer, output, item.reference, context)


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
            f"{folder / 'task.toml'}:{_KeyLines(folder / 'task.toml').line('', 'id')}: "
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


# ------------------------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------------------------


class _KeyLines:
    """Line numbers of keys in a TOML file (tomllib keeps none), for ``file:line`` messages."""

    def __init__(self, path: Path, text: str | None = None) -> None:
        self.lines: dict[tuple[str, str], int] = {}
        table = ""
        counts: dict[str, int] = {}
        lines = (text if text is not None else read_text(path)).splitlines()
        for number, line in enumerate(lines, start=1):
            header = re.match(r"\s*(\[\[?)\s*([\w.\"' -]+?)\s*\]\]?", line)
            if header:
                table = header.group(2).replace('"', "").replace("'", "")
                if header.group(1) == "[[":
                    counts[table] = counts.get(table, -1) + 1
                    table = f"{table}.{counts[table]}"
                self.lines.setdefault((table, ""), number)
                continue
            key = re.match(r"\s*([\w\"'-]+)\s*=", line)
            if key:
                self.lines.setdefault((table, key.group(1).strip("\"'")), number)

    def line(self, table: str, key: str = "") -> int:
        """The key's line, else the line of a table by that name, else its table's header, else 1."""
        subtable = f"{table}.{key}" if table else key
        return (
            self.lines.get((table, key)) or (key and self.lines.get((subtable, ""))) or self.lines.get((table, "")) or 1
        )


def _template_fields(template: str) -> list[str]:
    """Named fields of a str.format template (``{text}``, ``{a.b}`` -> ``a``); raises ValueError when malformed."""
    names = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None:
            continue
        root = re.split(r"[.\[]", name, maxsplit=1)[0]
        if not root or root.isdigit():
            raise ValueError("template fields must be named, like {text}")
        names.append(root)
    return names


def load_task_folder(folder: Path) -> Task:
    """Load and check a task folder. Raises :class:`TaskError` (``file:line: what is wrong``)."""
    folder = Path(folder)
    toml_path, items_path = folder / "task.toml", folder / "items.jsonl"
    if not toml_path.is_file():
        raise TaskError(f"{toml_path}: not found (a task folder holds task.toml and items.jsonl)")
    try:
        text = read_text(toml_path)
    except TextFileError as exc:
        raise TaskError(str(exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(where.group(1)) if where else max(1, len(text.splitlines()))
        what = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        raise TaskError(
            f"{toml_path}:{line}: TOML syntax error: {what}" + (f" (column {where.group(2)})" if where else "")
        ) from None
    keys = _KeyLines(toml_path, text)

    def fail(table: str, key: str, what: str) -> TaskError:
        return TaskError(f"{toml_path}:{keys.line(table, key)}: {what}")

    for key in data:
        if key not in _TOP_KEYS:
            raise fail("", key, f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})")
    for key in _REQUIRED:
        if key not in data:
            raise fail("", key, f"missing field {key!r}")

    def typed(table: str, mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        value = mapping.get(key, default)
        if value is not default and (not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)):
            name = _KIND_NAMES.get(kind, str(kind))
            raise fail(table, key, f"{key} must be {name}, not {value!r}")
        return value

    task_id = typed("", data, "id", str, None)
    if not _ID.match(task_id):
        raise fail("", "id", f"id {task_id!r} may hold only letters, digits and '-'")
    scorer = typed("", data, "scorer", str, None)
    if scorer not in SCORERS:
        raise fail("", "scorer", f"unknown scorer {scorer!r} (known: {', '.join(SCORERS)})")
    info = SCORERS[scorer]
    category = typed("", data, "category", str, None)
    if category not in CATEGORIES:
        raise fail("", "category", f"category must be one of {', '.join(CATEGORIES)}, not {category!r}")
    baseline = float(typed("", data, "baseline", (int, float), 0.0))
    if not 0.0 <= baseline <= 1.0:
        raise fail("", "baseline", f"baseline must be a score in [0, 1], not {baseline}")
    max_new_tokens = typed("", data, "max_new_tokens", int, info.default_max_new_tokens)
    if max_new_tokens < 1:
        raise fail("", "max_new_tokens", "max_new_tokens must be at least 1")
    stop = typed("", data, "stop", list, [])
    if not all(isinstance(s, str) and s for s in stop):
        raise fail("", "stop", "stop must be a list of non-empty strings")

    prompt = typed("", data, "prompt", dict, None)
    if prompt is None:
        raise fail("", "", 'missing table [prompt] (with at least user = "...{field}...")')
    for key in prompt:
        if key not in ("system", "user", "fewshot"):
            raise fail("prompt", key, f"unknown key {key!r} in [prompt] (known: system, user, fewshot)")
    user = typed("prompt", prompt, "user", str, None)
    if user is None:
        raise fail("prompt", "", "missing field 'user' in [prompt]")
    try:
        fields = _template_fields(user)
    except ValueError as exc:
        raise fail("prompt", "user", f"bad prompt template: {exc}") from None
    system = typed("prompt", prompt, "system", str, None)
    fewshot = []
    for n, shot in enumerate(typed("prompt", prompt, "fewshot", list, [])):
        table = f"prompt.fewshot.{n}"
        if (
            not isinstance(shot, dict)
            or not isinstance(shot.get("input"), dict)
            or not isinstance(shot.get("output"), str)
        ):
            raise fail(table, "", 'each [[prompt.fewshot]] needs input = { field = "..." } and output = "..."')
        missing = [f for f in fields if f not in shot["input"]]
        if missing:
            raise fail(table, "input", f"few-shot input lacks field {missing[0]!r} used by the prompt template")
        fewshot.append(FewShot(input=dict(shot["input"]), output=shot["output"]))

    extract = typed("", data, "extract", dict, {})
    for key in extract:
        if key not in ("rule", "labels"):
            raise fail("extract", key, f"unknown key {key!r} in [extract] (known: rule, labels)")
    rule = typed("extract", extract, "rule", str, info.default_rule)
    if rule not in EXTRACT_RULES:
        raise fail("extract", "rule", f"unknown extraction rule {rule!r} (known: {', '.join(EXTRACT_RULES)})")
    labels = typed("extract", extract, "labels", list, [])
    if not all(isinstance(v, str) and v.strip() for v in labels):
        raise fail("extract", "labels", "labels must be a list of non-empty strings")
    if (rule == "label" or scorer == "label") and not labels:
        raise fail("extract", "labels", "rule 'label' needs labels = [\"...\", ...] in [extract]")

    options = typed("", data, "scorer_options", dict, {})
    _check_options(info, options, lambda key, what: fail("scorer_options", key, what))
    fixtures = []
    if "database" in options:
        database = folder / options["database"]
        if not database.is_file():
            raise fail("scorer_options", "database", f"database {options['database']!r} not found in {folder}")
        fixtures.append(database)

    source_table = typed("", data, "source", dict, None)
    if source_table is not None:
        if items_path.exists():
            raise fail("source", "", f"a task with [source] takes its items from a package: remove {items_path}")
        try:
            source = PackagedSource.from_table(source_table)
        except ValueError as exc:
            raise fail("source", next((k for k in source_table if k in str(exc)), ""), str(exc)) from None
        items = _packaged_items(source, task_id, fields, toml_path)
        version = _version([toml_path, *fixtures], source.sha256.encode())
    elif not items_path.is_file():
        raise TaskError(f"{items_path}: not found (a task folder holds task.toml and items.jsonl)")
    else:
        items = _read_items(items_path, fields, scorer=scorer, rule=rule, labels=tuple(labels), quick=False)
        version = _version([toml_path, items_path, *fixtures])
    return Task(
        id=task_id,
        name=typed("", data, "name", str, None),
        description=typed("", data, "description", str, ""),
        category=category,
        scorer=scorer,
        metric=typed("", data, "metric", str, info.metric),
        baseline=baseline,
        max_new_tokens=max_new_tokens,
        stop=tuple(stop),
        continuous=info.continuous,
        licence=typed("", data, "licence", str, "not stated"),
        provenance=typed("", data, "provenance", str, "not stated"),
        items=items,
        path=folder,
        version=version,
        system=system,
        user_template=user,
        fewshot=tuple(fewshot),
        extract_rule=rule,
        labels=tuple(labels),
        scorer_options=dict(options),
    )


def _packaged_items(source: PackagedSource, task_id: str, fields: list[str], toml_path: Path) -> tuple[TaskItem, ...]:
    """Items of a ``[source]`` task, read and verified by ``packaged.read_items``; one-line errors name the task."""
    try:
        packaged = read_items(source)
    except PackageMissing as exc:
        raise TaskUnavailable(f"task {task_id} {exc}") from None
    except PackagedDataError as exc:
        raise TaskError(f"task {task_id}: {exc}") from None
    missing = [f for f in fields if f not in packaged[0].input]
    if missing:
        raise TaskError(f"{toml_path}: the prompt uses {{{missing[0]}}}, which {source.format} items do not have")
    return tuple(
        TaskItem(
            id=p.id,
            input=dict(p.input),
            reference=p.reference,
            question=p.question,
            tests=p.tests,
            prelude=p.prelude,
            extra=dict(p.extra),
        )
        for p in packaged
    )


def _check_options(info: Any, options: Mapping[str, Any], fail: Any) -> None:
    for key, value in options.items():
        kind = info.options.get(key)
        if kind is None:
            known = ", ".join(info.options) or "none"
            raise fail(key, f"unknown option {key!r} for scorer {info.name} (known: {known})")
        ok = isinstance(value, (int, float)) if kind is float else isinstance(value, kind)
        if not ok or isinstance(value, bool) or (kind in (int, float) and value <= 0):
            raise fail(
                key,
                f"{key} must be a positive {kind.__name__}"
                if kind in (int, float)
                else f"{key} must be a {kind.__name__}",
            )
    for key in info.required_options:
        if key not in options:
            raise fail("", f"scorer {info.name} needs {key} = ... in [scorer_options]")


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
    items = _read_items(path, [], scorer=scorer, rule=info.default_rule, labels=(), quick=True)
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
        version=_version([path], version_extra),
        system=None,
        user_template="{" + first_field + "}",
        extract_rule=info.default_rule,
        labels=labels,
    )


def _read_items(
    path: Path, fields: list[str], *, scorer: str, rule: str, labels: tuple[str, ...], quick: bool
) -> tuple[TaskItem, ...]:
    """Parse and check items.jsonl; every problem names its line."""
    items: list[TaskItem] = []
    first_line: dict[str, int] = {}
    label_forms = {normalize_text(label) for label in labels}
    try:
        text = read_text(path)  # a byte that is not UTF-8 is reported with its line
    except TextFileError as exc:
        raise TaskError(str(exc)) from None
    with io.StringIO(text) as handle:  # lines end at "\n" only (JSON strings may hold U+2028)
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue

            def fail(what: str, number: int = number) -> TaskError:
                return TaskError(f"{path}:{number}: {what}")

            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise fail(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(raw, dict):
                raise fail('each line must be a JSON object like {"id": ..., "input": {...}, "reference": ...}')
            item_id = raw.get("id", f"{path.stem}-{number}" if quick else None)
            if isinstance(item_id, int) and not isinstance(item_id, bool):
                item_id = str(item_id)
            if not isinstance(item_id, str) or not item_id:
                raise fail("missing field 'id' (a non-empty string)")
            if item_id in first_line:
                raise fail(f"duplicate id {item_id!r} (first on line {first_line[item_id]})")
            first_line[item_id] = number
            data = raw.get("input")
            if quick and isinstance(data, str):
                data = {"text": data}
            if not isinstance(data, dict) or not data:
                raise fail(f"item {item_id!r}: missing field 'input' (an object of the prompt's fields)")
            for name in fields:
                if name not in data:
                    raise fail(f"item {item_id!r} lacks input field {name!r} used by the prompt template")
            reference = raw.get("reference")
            if isinstance(reference, (int, float)) and not isinstance(reference, bool):
                reference = str(reference)
            if not isinstance(reference, str) or not reference.strip():
                raise fail(f"item {item_id!r}: missing field 'reference' (the gold answer as text)")
            if scorer == "numeric" and parse_number(reference) is None:
                raise fail(f"item {item_id!r}: reference {reference!r} is not one number")
            if rule == "label" and labels and normalize_text(reference) not in label_forms:
                raise fail(f"item {item_id!r}: reference {reference!r} is not one of the labels {list(labels)}")
            tests = raw.get("tests")
            if scorer == "code_pass_at_1" and (not isinstance(tests, str) or not tests.strip()):
                raise fail(f"item {item_id!r}: missing field 'tests' (Python asserts the code must pass)")
            question = raw.get("question")
            if question is None:
                question = str(next(iter(data.values())))
            elif not isinstance(question, str):
                raise fail(f"item {item_id!r}: question must be a string")
            prelude = raw.get("prelude")
            if prelude is not None and not isinstance(prelude, str):
                raise fail(f"item {item_id!r}: prelude must be a string of Python code")
            extra = {
                k: v for k, v in raw.items() if k not in ("id", "input", "reference", "question", "tests", "prelude")
            }
            items.append(
                TaskItem(
                    id=item_id,
                    input=data,
                    reference=reference,
                    question=question,
                    tests=tests if isinstance(tests, str) else None,
                    prelude=prelude,
                    extra=extra,
                )
            )
    if not items:
        raise TaskError(f"{path}:1: no items (one JSON object per line)")
    return tuple(items)


def _version(files: list[Path], extra: bytes = b"") -> str:
    """sha256 over the files' names and bytes (task.toml, items.jsonl, fixtures): any edit changes it."""
    digest = hashlib.sha256(extra)
    for path in files:
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()
