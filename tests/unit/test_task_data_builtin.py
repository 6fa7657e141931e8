"""Checks of the built-in task data (tasks/text-to-sql, tasks/python-functions, tasks/dialogue-summary).

These tests read the files directly, following docs/TASK_FORMAT.md, and do not import greentui's task loader or
scorers: they check that the data itself is sound (gold SQL runs and is unambiguous, reference solutions pass
their tests in a fresh ``python -I`` process and the tests reject a stub, summaries fit their dialogues).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import sqlite3
import string
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TASKS_DIR = Path(__file__).resolve().parents[2] / "tasks"
PROVENANCE = "Written for greentui in 2026 by its developers; no text copied from any data set"
REQUIRED_KEYS = (
    "id",
    "name",
    "description",
    "category",
    "scorer",
    "metric",
    "baseline",
    "max_new_tokens",
    "licence",
    "provenance",
)
CODE_TIMEOUT_S = 10.0  # generous: a cold interpreter on a busy 2-core machine


# expected header values and the least number of items, per task
EXPECTED = {
    "text-to-sql": {
        "category": "sql",
        "scorer": "sql_execution",
        "metric": "execution accuracy",
        "rule": "sql",
        "prefix": "sql",
        "min_items": 60,
    },
    "python-functions": {
        "category": "code",
        "scorer": "code_pass_at_1",
        "metric": "pass@1",
        "rule": "code",
        "prefix": "py",
        "min_items": 40,
    },
    "dialogue-summary": {
        "category": "nlp",
        "scorer": "rouge_l",
        "metric": "ROUGE-L F1",
        "rule": "full",
        "prefix": "dlg",
        "min_items": 40,
    },
}


def _toml(task: str) -> dict[str, Any]:
    with (TASKS_DIR / task / "task.toml").open("rb") as f:
        return tomllib.load(f)


def _items(task: str) -> list[dict[str, Any]]:
    lines = (TASKS_DIR / task / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _params(task: str) -> list[Any]:
    return [pytest.param(item, id=item["id"]) for item in _items(task)]


def _template_fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


# ----------------------------------------------------------------------------------------------- all tasks
@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_task_toml_has_the_required_keys(task: str) -> None:
    meta = _toml(task)
    expected = EXPECTED[task]
    for key in REQUIRED_KEYS:
        assert key in meta, f"{task}/task.toml lacks {key}"
    assert meta["id"] == task
    assert re.fullmatch(r"[A-Za-z0-9-]+", meta["id"])
    assert (meta["category"], meta["scorer"], meta["metric"]) == (
        expected["category"],
        expected["scorer"],
        expected["metric"],
    )
    assert meta["baseline"] == 0.0
    assert isinstance(meta["max_new_tokens"], int) and 0 < meta["max_new_tokens"] <= 512
    assert meta["licence"] == "CC0-1.0"
    assert meta["provenance"].startswith(PROVENANCE)
    assert isinstance(meta["prompt"]["user"], str) and meta["prompt"]["user"]
    assert meta["extract"]["rule"] == expected["rule"]
    assert all(isinstance(s, str) and s for s in meta.get("stop", []))


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_items_are_well_formed_with_unique_ids(task: str) -> None:
    items = _items(task)
    prefix = EXPECTED[task]["prefix"]
    assert len(items) >= EXPECTED[task]["min_items"]
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for item in items:
        assert re.fullmatch(rf"{prefix}-\d{{3}}", item["id"]), item["id"]
        assert isinstance(item["input"], dict) and item["input"]
        assert all(isinstance(v, str) and v.strip() for v in item["input"].values()), item["id"]
        assert isinstance(item["reference"], str) and item["reference"].strip(), item["id"]
        assert isinstance(item.get("question", "q"), str)


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_prompt_template_formats_every_item_and_fewshot(task: str) -> None:
    meta = _toml(task)
    template = meta["prompt"]["user"]
    fields = _template_fields(template)
    assert fields, "the user template uses no input field"
    assert not _template_fields(meta["prompt"].get("system", "")), "the system text must not hold {fields}"
    for item in _items(task):
        assert fields <= item["input"].keys(), item["id"]
        assert template.format(**item["input"])
    fewshots = meta["prompt"].get("fewshot", [])
    assert fewshots
    references = {item["reference"] for item in _items(task)}
    for shot in fewshots:
        assert template.format(**shot["input"])
        assert shot["output"].strip() and shot["output"] not in references  # examples are not test items


# ----------------------------------------------------------------------------------------------- text-to-sql
SQL_TASK = TASKS_DIR / "text-to-sql"


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("greentui_task_build_db", SQL_TASK / "build_db.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _database() -> Path:
    return SQL_TASK / _toml("text-to-sql")["scorer_options"]["database"]


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def test_sql_scorer_options_name_the_shipped_database() -> None:
    options = _toml("text-to-sql")["scorer_options"]
    assert options["timeout_s"] == 5.0
    assert _database().is_file()
    assert _database().stat().st_size < 1_000_000


def test_shipped_database_is_what_build_db_makes(tmp_path: Path) -> None:
    rebuilt = _build_module().build(tmp_path / "rebuilt.sqlite")
    with _read_only(_database()) as shipped, _read_only(rebuilt) as fresh:
        assert list(shipped.iterdump()) == list(fresh.iterdump())


def test_database_has_related_tables_and_realistic_rows() -> None:
    with _read_only(_database()) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        with_foreign_keys = [t for t in tables if con.execute(f"PRAGMA foreign_key_list({t})").fetchall()]
        assert len(tables) >= 4 and len(with_foreign_keys) >= 3
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
        assert all(n >= 5 for n in counts.values()), counts
        assert sum(counts.values()) >= 300
        # spot checks that the generator made plausible values
        assert con.execute("SELECT MIN(price) > 0 AND MAX(price) < 100 FROM books").fetchone()[0] == 1
        assert (
            con.execute(
                "SELECT COUNT(*) FROM orders WHERE ordered_on NOT GLOB '202[34]-[01][0-9]-[0-3][0-9]'"
            ).fetchone()[0]
            == 0
        )
        assert (
            con.execute(
                "SELECT COUNT(*) FROM orders o JOIN customers c USING (customer_id) WHERE o.ordered_on < c.joined_on"
            ).fetchone()[0]
            == 0
        )
        assert (
            con.execute(
                "SELECT COUNT(*) FROM orders o JOIN employees e USING (employee_id) WHERE o.store_id <> e.store_id"
            ).fetchone()[0]
            == 0
        )


def test_prompt_shows_the_exact_schema() -> None:
    system = _toml("text-to-sql")["prompt"]["system"]
    assert _build_module().SCHEMA.strip() in system
    with _read_only(_database()) as con:
        for (sql,) in con.execute("SELECT sql FROM sqlite_master WHERE type = 'table'"):
            assert sql in system


def test_sql_difficulties_are_spread() -> None:
    levels = [item["difficulty"] for item in _items("text-to-sql")]
    assert set(levels) == {"easy", "medium", "hard"}
    assert all(levels.count(level) >= 15 for level in ("easy", "medium", "hard"))


def _top_level(sql: str, keyword: str) -> list[int]:
    """Offsets where ``keyword`` (a regex) starts outside parentheses and string literals."""
    depth, in_string, hits = 0, False, []
    for i, ch in enumerate(sql):
        if in_string:
            in_string = ch != "'"
        elif ch == "'":
            in_string = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif (
            depth == 0
            and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_"))
            and re.match(keyword, sql[i:], re.IGNORECASE)
        ):
            hits.append(i)
    return hits


def _with_random_tiebreak(sql: str) -> str | None:
    """The query with ``random()`` appended to its outermost ORDER BY, or None if it has none.

    If the ORDER BY keys leave ties (inside the result or at a LIMIT cut), the random last key reorders them on
    some runs; if the keys decide every position, the result never changes.
    """
    orders = _top_level(sql, r"ORDER\s+BY\b")
    if not orders:
        return None
    limits = [i for i in _top_level(sql, r"LIMIT\b") if i > orders[-1]]
    end = limits[0] if limits else len(sql.rstrip().rstrip(";").rstrip())
    return sql[:end].rstrip() + ", random() " + sql[end:]


@pytest.mark.parametrize("item", _params("text-to-sql"))
def test_gold_sql_runs_and_is_unambiguous(item: dict[str, Any]) -> None:
    sql = item["reference"]
    assert re.match(r"(SELECT|WITH)\b", sql), "gold SQL must be one read-only query"
    assert sqlite3.complete_statement(sql) and sql.count(";") == 1 and sql.rstrip().endswith(";")
    with _read_only(_database()) as con:
        rows = con.execute(sql).fetchall()
        if not item.get("empty_result_expected", False):
            assert rows, "gold query returns no rows"
        assert all(None not in row for row in rows), "NULLs in a gold answer are usually a mistake"
        if "ORDER BY" in sql.upper():
            # An ordered gold answer is compared in order, so its order must be the only one possible.
            shuffled = _with_random_tiebreak(sql)
            assert shuffled is not None, "an ORDER BY inside the query needs an outer ORDER BY too"
            assert all(con.execute(shuffled).fetchall() == rows for _ in range(20)), (
                "the ORDER BY leaves ties; add a tiebreaker and name it in the question"
            )
            assert re.search(
                r"\border(ed)?\b|\bfirst\b|\bmost\b|\bhighest\b|\brank", item["input"]["question"], re.IGNORECASE
            ), "an ordered answer needs a question that asks for an order"


def test_tie_check_catches_ties() -> None:
    with _read_only(_database()) as con:
        tied = "SELECT title FROM books ORDER BY genre;"
        assert _with_random_tiebreak(tied) == "SELECT title FROM books ORDER BY genre, random() ;"
        assert any(
            con.execute(_with_random_tiebreak(tied) or "").fetchall() != con.execute(tied).fetchall() for _ in range(20)
        )
    windowed = "SELECT ROW_NUMBER() OVER (ORDER BY price) FROM books ORDER BY title LIMIT 2;"
    assert _with_random_tiebreak(windowed) == (
        "SELECT ROW_NUMBER() OVER (ORDER BY price) FROM books ORDER BY title, random() LIMIT 2;"
    )


def test_sql_fewshot_answers_are_fenced_and_run() -> None:
    with _read_only(_database()) as con:
        for shot in _toml("text-to-sql")["prompt"]["fewshot"]:
            match = re.fullmatch(r"```sql\n(.+)\n```", shot["output"], re.DOTALL)
            assert match, shot["output"]
            assert con.execute(match.group(1)).fetchall()


# ----------------------------------------------------------------------------------------------- python-functions
def _function_name(signature: str) -> str:
    match = re.fullmatch(r"def ([A-Za-z_]\w*)\(.*\)( -> .+)?:", signature)
    assert match, signature
    return match.group(1)


def _run_python(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    program = tmp_path / "program.py"
    program.write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-I", str(program)], capture_output=True, text=True, timeout=CODE_TIMEOUT_S, cwd=tmp_path
    )


@pytest.mark.parametrize("item", _params("python-functions"))
def test_code_item_is_consistent(item: dict[str, Any]) -> None:
    signature = item["input"]["signature"]
    name = _function_name(signature)
    assert item["reference"].startswith(signature + "\n")
    assert item["input"]["description"].strip().endswith(".")
    tests = ast.parse(item["tests"])
    asserts = [node for node in tests.body if isinstance(node, ast.Assert)]
    assert 3 <= len(asserts) <= 6 and len(asserts) == len(tests.body), "tests are 3 to 6 plain asserts"
    assert all(any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(a)) for a in asserts)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(item["reference"]))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(ast.parse(item["reference"]))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= set(sys.stdlib_module_names), imported


@pytest.mark.parametrize("item", _params("python-functions"))
def test_reference_passes_its_tests_in_an_isolated_process(item: dict[str, Any], tmp_path: Path) -> None:
    result = _run_python(item["reference"] + "\n\n\n" + item["tests"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("item", _params("python-functions"))
def test_tests_reject_a_stub(item: dict[str, Any], tmp_path: Path) -> None:
    stub = item["input"]["signature"] + "\n    return None\n"
    result = _run_python(stub + "\n\n" + item["tests"], tmp_path)
    assert result.returncode != 0 and "AssertionError" in result.stderr


def test_code_fewshot_answers_are_fenced_functions() -> None:
    for shot in _toml("python-functions")["prompt"]["fewshot"]:
        match = re.fullmatch(r"```python\n(.+)\n```", shot["output"], re.DOTALL)
        assert match, shot["output"]
        assert match.group(1).startswith(shot["input"]["signature"])
        compile(match.group(1), "<fewshot>", "exec")


def test_code_scorer_options() -> None:
    options = _toml("python-functions")["scorer_options"]
    assert options == {"timeout_s": 5.0, "memory_mb": 256, "output_kb": 64}


# ----------------------------------------------------------------------------------------------- dialogue-summary
TURN = re.compile(r"([A-Z][A-Za-z]*): (\S.*)")


@pytest.mark.parametrize("item", _params("dialogue-summary"))
def test_dialogue_and_summary_fit_together(item: dict[str, Any]) -> None:
    lines = item["input"]["dialogue"].split("\n")
    assert 3 <= len(lines) <= 8
    turns = [TURN.fullmatch(line) for line in lines]
    assert all(turns), "every line is 'Name: text'"
    speakers = {m.group(1) for m in turns if m}
    assert len(speakers) >= 2
    summary = item["reference"]
    sentences = re.findall(r"[.!?](?:\s|$)", summary)
    assert 1 <= len(sentences) <= 2 and summary.rstrip()[-1] in ".!?", "one or two sentences"
    assert len(summary.split()) <= 45
    assert not re.search(r"\b(I|me|my|we|us|our)\b", summary), "summaries are in the third person"
    # a summary names at least one participant (role names such as Mum or Coach may appear in lower case)
    assert any(name.lower() in summary.lower() for name in speakers), speakers


def test_dialogue_items_cover_varied_names() -> None:
    speakers = {m.group(1) for item in _items("dialogue-summary") for m in TURN.finditer(item["input"]["dialogue"])}
    assert len(speakers) >= 60
