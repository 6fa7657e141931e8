"""The records of a loaded task: :class:`Task` (what to ask, how to score), its items and few-shot examples, and the
one-line :class:`TaskError`. Split from :mod:`greentui.core.evaluate.tasks` (finding and loading tasks) and
:mod:`greentui.core.evaluate.task_schema` (reading and checking the task files), which both build these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greentui.core.evaluate.scoring import (
    ScoreContext,
    ScoreResult,
    score_output,
)
from greentui.core.records import Prompt

__all__ = ["FewShot", "Task", "TaskError", "TaskItem", "TaskUnavailable"]


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
