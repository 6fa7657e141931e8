"""Task loading, its `file:line` errors, prompts, versions, and the integrity of every built-in task."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from greentui.core.evaluate.tasks import (
    Task,
    TaskError,
    builtin_task_dirs,
    builtin_task_folders,
    builtin_tasks,
    load_task,
)
from greentui.core.records import Prompt

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO_TASKS = Path(__file__).resolve().parents[2] / "tasks"
DISCOVERED = sorted(p.name for p in REPO_TASKS.iterdir() if (p / "task.toml").is_file())

GOOD_TOML = """\
id = "mini"
name = "Mini"
description = "A tiny task for tests."
category = "nlp"
scorer = "label"
baseline = 0.5
max_new_tokens = 4
stop = ["\\n"]
licence = "CC0-1.0"
provenance = "test"

[prompt]
system = "Label it."
user = "Text: {text}"

[[prompt.fewshot]]
input = { text = "great" }
output = "positive"

[extract]
rule = "label"
labels = ["positive", "negative"]
"""

GOOD_ITEMS = [
    {"id": "a", "input": {"text": "I love it"}, "reference": "positive"},
    {"id": "b", "input": {"text": "I hate it"}, "reference": "negative", "question": "hate?"},
]


def write_task(folder: Path, toml: str = GOOD_TOML, items: list[dict] | str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "task.toml").write_text(toml, encoding="utf-8")
    if items is None:
        items = GOOD_ITEMS
    text = items if isinstance(items, str) else "".join(json.dumps(i) + "\n" for i in items)
    (folder / "items.jsonl").write_text(text, encoding="utf-8")
    return folder


def error_of(path: Path | str, **kwargs: object) -> str:
    with pytest.raises(TaskError) as info:
        load_task(str(path), **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------------------------
# loading a folder
# ---------------------------------------------------------------------------------------------------------------


def test_a_good_folder_loads(tmp_path: Path) -> None:
    task = load_task(str(write_task(tmp_path / "mini")))
    assert (task.id, task.category, task.scorer, task.metric, task.baseline) == (
        "mini",
        "nlp",
        "label",
        "accuracy",
        0.5,
    )
    assert task.stop == ("\n",) and task.max_new_tokens == 4 and not task.continuous
    assert [item.id for item in task.items] == ["a", "b"]
    assert task.items[0].question == "I love it" and task.items[1].question == "hate?"
    assert len(task.version) == 64


def test_task_toml_path_and_folder_give_the_same_task(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "mini")
    assert load_task(str(folder / "task.toml")).version == load_task(str(folder)).version


def test_build_prompt_has_chat_turns_and_a_plain_flattening(tmp_path: Path) -> None:
    task = load_task(str(write_task(tmp_path / "mini")))
    prompt = task.build_prompt(task.items[1])
    assert isinstance(prompt, Prompt)
    assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant", "user"]
    assert prompt.messages[1]["content"] == "Text: great" and prompt.messages[2]["content"] == "positive"
    assert prompt.messages[-1]["content"] == "Text: I hate it"
    assert prompt.plain == "Label it.\n\nText: great\npositive\n\nText: I hate it\n"


def test_score_uses_the_declared_extraction(tmp_path: Path) -> None:
    task = load_task(str(write_task(tmp_path / "mini")))
    result = task.score(task.items[0], "**Positive!**")
    assert (result.score, result.answer) == (1.0, "positive")


def test_version_changes_with_any_edit(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "mini")
    first = load_task(str(folder)).version
    assert load_task(str(folder)).version == first
    with (folder / "items.jsonl").open("a") as handle:
        handle.write(json.dumps({"id": "c", "input": {"text": "meh"}, "reference": "negative"}) + "\n")
    second = load_task(str(folder)).version
    (folder / "task.toml").write_text(GOOD_TOML.replace("max_new_tokens = 4", "max_new_tokens = 5"))
    assert len({first, second, load_task(str(folder)).version}) == 3


def test_version_covers_the_database_fixture(tmp_path: Path) -> None:
    import sqlite3

    folder = tmp_path / "sql"
    toml = GOOD_TOML.replace('scorer = "label"', 'scorer = "sql_execution"').replace(
        'category = "nlp"', 'category = "sql"'
    )
    toml = toml.split("[extract]")[0] + '[scorer_options]\ndatabase = "db.sqlite"\n'
    write_task(
        folder,
        toml.replace('output = "positive"', 'output = "SELECT 1"'),
        [{"id": "q", "input": {"text": "one"}, "reference": "SELECT 1"}],
    )
    sqlite3.connect(folder / "db.sqlite").close()
    first = load_task(str(folder)).version
    conn = sqlite3.connect(folder / "db.sqlite")
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    assert load_task(str(folder)).version != first


# ---------------------------------------------------------------------------------------------------------------
# file:line errors
# ---------------------------------------------------------------------------------------------------------------


def test_toml_syntax_error_names_its_line(tmp_path: Path) -> None:
    broken = GOOD_TOML.replace('category = "nlp"', 'category = "nlp')  # line 4: unterminated string
    folder = write_task(tmp_path / "mini", broken)
    message = error_of(folder)
    assert message.startswith(f"{folder / 'task.toml'}:4: TOML syntax error")


def test_jsonl_error_names_the_bad_line(tmp_path: Path) -> None:
    lines = json.dumps(GOOD_ITEMS[0]) + "\n\n" + '{"id": "b", "input": {"text": "x"}, "reference": "negative"\n'
    folder = write_task(tmp_path / "mini", items=lines)
    assert error_of(folder).startswith(f"{folder / 'items.jsonl'}:3: invalid JSON")


@pytest.mark.parametrize(
    "edit, line, fragment",
    [
        (lambda t: t.replace('scorer = "label"\n', ""), 1, "missing field 'scorer'"),
        (lambda t: t.replace('scorer = "label"', 'scorer = "fuzzy"'), 5, "unknown scorer 'fuzzy'"),
        (lambda t: t.replace('category = "nlp"', 'category = "poetry"'), 4, "category must be one of"),
        (lambda t: t.replace("baseline = 0.5", "baseline = 2"), 6, "baseline must be a score in [0, 1]"),
        (lambda t: t.replace("baseline = 0.5", 'baseline = "half"'), 6, "baseline must be a number"),
        (
            lambda t: t.replace('licence = "CC0-1.0"', 'licence = "CC0-1.0"\ncolour = "green"'),
            10,
            "unknown key 'colour'",
        ),
        (lambda t: t.replace("[prompt]", "[prompts]"), 12, "unknown key 'prompts'"),
        (lambda t: t.replace("max_new_tokens = 4", "max_new_tokens = 4.5"), 7, "must be a whole number"),
        (lambda t: t.replace('user = "Text: {text}"', 'user = "Text: {text"'), 14, "bad prompt template"),
        (lambda t: t.replace('user = "Text: {text}"', 'user = "Text: {}"'), 14, "template fields must be named"),
        (lambda t: t.replace('input = { text = "great" }', 'input = { words = "great" }'), 17, "few-shot input lacks"),
        (lambda t: t.replace('rule = "label"', 'rule = "vibes"'), 21, "unknown extraction rule 'vibes'"),
        (lambda t: t.replace('labels = ["positive", "negative"]', ""), 20, "needs labels"),
    ],
)
def test_task_toml_errors_name_the_line(tmp_path: Path, edit, line: int, fragment: str) -> None:  # type: ignore[no-untyped-def]
    folder = write_task(tmp_path / "mini", edit(GOOD_TOML))
    message = error_of(folder)
    assert message.startswith(f"{folder / 'task.toml'}:{line}: "), message
    assert fragment in message


@pytest.mark.parametrize(
    "items, line, fragment",
    [
        ([GOOD_ITEMS[0], {"input": {"text": "x"}, "reference": "positive"}], 2, "missing field 'id'"),
        (
            [GOOD_ITEMS[0], {"id": "b", "input": {"other": "x"}, "reference": "positive"}],
            2,
            "lacks input field 'text' used by the prompt template",
        ),
        ([GOOD_ITEMS[0], {"id": "b", "input": {"text": "x"}}], 2, "missing field 'reference'"),
        ([GOOD_ITEMS[0], {"id": "b", "input": {"text": "x"}, "reference": "meh"}], 2, "is not one of the labels"),
        ([GOOD_ITEMS[0], GOOD_ITEMS[1], dict(GOOD_ITEMS[0])], 3, "duplicate id 'a' (first on line 1)"),
        ([GOOD_ITEMS[0], ["not", "an", "object"]], 2, "must be a JSON object"),
        ([], 1, "no items"),
    ],
)
def test_items_errors_name_the_line(tmp_path: Path, items: list, line: int, fragment: str) -> None:
    folder = write_task(tmp_path / "mini", items=items)
    message = error_of(folder)
    assert message.startswith(f"{folder / 'items.jsonl'}:{line}: "), message
    assert fragment in message


def test_scorer_specific_item_checks(tmp_path: Path) -> None:
    numeric = GOOD_TOML.replace('scorer = "label"', 'scorer = "numeric"').split("[extract]")[0]
    folder = write_task(tmp_path / "num", numeric, [{"id": "x", "input": {"text": "2+2"}, "reference": "four"}])
    assert error_of(folder).endswith("reference 'four' is not one number")
    code = GOOD_TOML.replace('scorer = "label"', 'scorer = "code_pass_at_1"').split("[extract]")[0]
    folder = write_task(tmp_path / "code", code, [{"id": "x", "input": {"text": "f"}, "reference": "def f(): pass"}])
    assert "missing field 'tests'" in error_of(folder)


def test_sql_task_needs_its_database(tmp_path: Path) -> None:
    toml = GOOD_TOML.replace('scorer = "label"', 'scorer = "sql_execution"').split("[extract]")[0]
    folder = write_task(tmp_path / "sql", toml, [{"id": "x", "input": {"text": "q"}, "reference": "SELECT 1"}])
    assert "needs database" in error_of(folder)
    (folder / "task.toml").write_text(toml + '[scorer_options]\ndatabase = "gone.sqlite"\n')
    message = error_of(folder)
    assert message.startswith(f"{folder / 'task.toml'}:") and "'gone.sqlite' not found" in message
    (folder / "task.toml").write_text(toml + '[scorer_options]\ndatabase = "gone.sqlite"\ntimeout = 3\n')
    assert "unknown option 'timeout'" in error_of(folder)


def test_missing_files_and_unknown_names(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert error_of(tmp_path / "empty").endswith("task.toml: not found (a task folder holds task.toml and items.jsonl)")
    assert error_of("no-such-task").startswith("unknown task 'no-such-task'")
    assert "declares its scorer" in error_of("sentiment", scorer="exact")


# ---------------------------------------------------------------------------------------------------------------
# quick tasks (.jsonl + scorer)
# ---------------------------------------------------------------------------------------------------------------


def test_quick_task_uses_the_first_input_field_as_prompt(tmp_path: Path) -> None:
    path = tmp_path / "my facts.jsonl"
    path.write_text(
        json.dumps({"id": "1", "input": {"q": "Capital of France?", "hint": "P"}, "reference": "Paris"})
        + "\n"
        + json.dumps({"input": {"q": "Capital of Italy?"}, "reference": "Rome"})
        + "\n"
    )
    task = load_task(str(path), scorer="exact")
    assert (task.id, task.baseline, task.category, task.extract_rule) == ("my-facts", 0.0, "nlp", "full")
    assert task.build_prompt(task.items[0]) == Prompt(
        messages=({"role": "user", "content": "Capital of France?"},), plain="Capital of France?\n"
    )
    assert task.items[1].id == "my facts-2"
    assert task.score(task.items[1], " rome ").score == 1.0
    assert load_task(str(path), scorer="exact", baseline=0.25).baseline == 0.25
    assert load_task(str(path), scorer="rouge_l").version != task.version


def test_quick_task_label_scorer_takes_labels_from_references(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in GOOD_ITEMS))
    task = load_task(str(path), scorer="label")
    assert task.labels == ("positive", "negative")
    assert task.score(task.items[1], "Negative.").score == 1.0


def test_quick_task_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in GOOD_ITEMS))
    assert "needs a scorer" in error_of(path)
    assert "unknown scorer 'fuzzy'" in error_of(path, scorer="fuzzy")
    assert "needs database" in error_of(path, scorer="sql_execution")


# ---------------------------------------------------------------------------------------------------------------
# built-in tasks
# ---------------------------------------------------------------------------------------------------------------


def test_builtin_tasks_are_found_in_the_repository() -> None:
    assert REPO_TASKS in builtin_task_dirs()
    assert set(DISCOVERED) <= set(builtin_task_folders())
    tasks = builtin_tasks()
    assert [t.id for t in tasks] == sorted(t.id for t in tasks)
    assert {"arithmetic", "sentiment"} <= {t.id for t in tasks}


def test_builtin_tasks_are_also_found_where_a_wheel_puts_them(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "greentui"
    write_task(package / "builtin_tasks" / "mini")
    assert builtin_task_folders(package) == {"mini": package / "builtin_tasks" / "mini"}
    write_task(tmp_path / "site-packages" / "tasks" / "other")  # a checkout's tasks/ is searched too, after it
    assert list(builtin_task_folders(package)) == ["mini", "other"]


@pytest.mark.parametrize("name", DISCOVERED)
def test_builtin_task_metadata(name: str) -> None:
    folder = REPO_TASKS / name
    declared = tomllib.loads((folder / "task.toml").read_text(encoding="utf-8"))
    task = load_task(name)
    assert task.id == name and task.path == folder
    for key in ("name", "description", "category", "scorer", "metric", "baseline", "licence", "provenance"):
        assert key in declared, f"{name}: declare {key} explicitly"
    if "source" in declared:  # a real benchmark read from its PyPI package keeps its upstream licence
        assert task.licence == "MIT" and "PyPI package" in task.provenance
    else:
        assert task.licence in ("CC0-1.0", "Apache-2.0")
    assert len(task.provenance) > 20


@pytest.mark.parametrize("name", DISCOVERED)
def test_every_gold_answer_scores_one(name: str) -> None:
    task = load_task(name)
    failures = [
        (item.id, result.detail)
        for item in task.items
        for result in [task.score(item, item.reference)]
        if result.score != pytest.approx(1.0)
    ]
    assert failures == [], f"{name}: {failures[:5]}"


def test_arithmetic_items() -> None:
    task = load_task("arithmetic")
    assert len(task.items) >= 100 and task.baseline == 0.0 and task.extract_rule == "last_number"
    assert Counter(item.extra["steps"] for item in task.items) == {1: 40, 2: 40, 3: 40}
    assert len({item.extra["template"] for item in task.items}) >= 20
    assert all(re.fullmatch(r"\d+", item.reference) for item in task.items)  # non-negative integers
    assert len({item.question for item in task.items}) == len(task.items)


def test_arithmetic_generator_is_deterministic_and_matches_the_file() -> None:
    spec = importlib.util.spec_from_file_location("arith_gen", REPO_TASKS / "arithmetic" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generated = module.generate()
    assert generated == module.generate()
    on_disk = [json.loads(line) for line in (REPO_TASKS / "arithmetic" / "items.jsonl").read_text().splitlines()]
    assert generated == on_disk, "items.jsonl is stale: run python tasks/arithmetic/generate.py"


def test_sentiment_items() -> None:
    task = load_task("sentiment")
    assert len(task.items) >= 100 and task.baseline == 0.5 and task.labels == ("positive", "negative")
    assert Counter(item.reference for item in task.items) == {"positive": 60, "negative": 60}
    kinds = Counter(item.extra["kind"] for item in task.items)
    assert kinds["sarcasm"] >= 8 and kinds["negation"] >= 8 and kinds["mixed"] >= 8
    assert {item.extra["domain"] for item in task.items} == {"product", "service", "film"}
    lengths = [len(item.input["text"].split()) for item in task.items]
    assert min(lengths) <= 2 and max(lengths) >= 15
    assert len({item.input["text"] for item in task.items}) == len(task.items)


def test_builtin_prompts_suit_a_small_model() -> None:
    for name in ("arithmetic", "sentiment"):
        task: Task = load_task(name)
        assert task.system and 2 <= len(task.fewshot) <= 3
        # Every few-shot answer is in the shape the scorer extracts, so the model sees the target format.
        for shot in task.fewshot:
            assert "\n" not in shot.output
        prompt = task.build_prompt(task.items[0])
        assert prompt.messages[-1]["content"] in prompt.plain


def test_a_copied_builtin_folder_loads_as_a_user_task(tmp_path: Path) -> None:
    copy = shutil.copytree(REPO_TASKS / "sentiment", tmp_path / "my-sentiment")
    task = load_task(str(copy))
    assert task.version == load_task("sentiment").version  # same bytes, same version
    assert task.path == copy
