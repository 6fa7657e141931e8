"""The task file format: ``task.toml`` and ``items.jsonl`` read, checked and turned into a :class:`Task`.

Every mistake in a task file is reported as ``file:line: what is wrong`` (:class:`TaskError`); tomllib keeps no
line numbers, so :class:`KeyLines` finds each key's line. The format is documented in ``docs/TASK_FORMAT.md``.
Split from :mod:`greentui.core.evaluate.tasks`, which finds tasks (built-in ids, folders, quick ``.jsonl`` files).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import string
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from greentui.core.evaluate.packaged import PackagedDataError, PackagedSource, PackageMissing, read_items
from greentui.core.evaluate.scoring import (
    EXTRACT_RULES,
    SCORERS,
    normalize_text,
    parse_number,
)
from greentui.core.evaluate.task_types import FewShot, Task, TaskError, TaskItem, TaskUnavailable
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


class KeyLines:
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
    keys = KeyLines(toml_path, text)

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
        version = task_version([toml_path, *fixtures], source.sha256.encode())
    elif not items_path.is_file():
        raise TaskError(f"{items_path}: not found (a task folder holds task.toml and items.jsonl)")
    else:
        items = read_items_file(items_path, fields, scorer=scorer, rule=rule, labels=tuple(labels), quick=False)
        version = task_version([toml_path, items_path, *fixtures])
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


def read_items_file(
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


def task_version(files: list[Path], extra: bytes = b"") -> str:
    """sha256 over the files' names and bytes (task.toml, items.jsonl, fixtures): any edit changes it."""
    digest = hashlib.sha256(extra)
    for path in files:
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()
