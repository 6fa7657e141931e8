"""TaskPicker: the built-in tasks with what each measures, or any task folder typed in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from greentui.tui.safe_text import literal_text


@dataclass(frozen=True)
class TaskChoice:
    """What the picker shows of a task (a view of ``core.evaluate.tasks.Task``)."""

    id: str
    name: str
    description: str
    category: str
    n_items: int
    metric: str
    baseline: float


def describe(choice: TaskChoice) -> Text:
    """Name, then category · items · metric · baseline, then the description."""
    text = literal_text(choice.name, style="bold")
    text.append_text(
        literal_text(
            f"\n{choice.category} · {choice.n_items} items · metric: {choice.metric} · "
            f"baseline s0 = {100 * choice.baseline:g}%\n",
            style="dim",
        )
    )
    text.append_text(literal_text(choice.description))
    return text


class TaskPicker(Vertical):
    """An input for the task id or folder, the built-in tasks to pick from, and the chosen task's details."""

    def __init__(self, value: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="picker")
        self._value = value
        self._choices: dict[str, TaskChoice] = {}
        self._with_details = True  # the list is wide enough for category and item count after each id

    def compose(self) -> ComposeResult:
        yield Input(self._value, placeholder="a task id, or a task folder", id="task-input")
        yield OptionList(id="task-list")
        yield Static(id="task-detail")

    def on_mount(self) -> None:
        self.border_title = "Task"

    @property
    def text(self) -> str:
        return self.query_one(Input).value.strip()

    def set_tasks(self, choices: list[TaskChoice]) -> None:
        self._choices = {choice.id: choice for choice in choices}
        self._fill_options()
        self._show(self.text)

    def _wants_details(self) -> bool:
        id_width = max((len(c) for c in self._choices), default=10)
        return self.query_one(OptionList).scrollable_content_region.width >= id_width + 2 + 10 + 10

    def _fill_options(self) -> None:
        """One line per task: its id, and where the list is wide enough, its category and item count."""
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        self._with_details = self._wants_details()
        id_width = max((len(c) for c in self._choices), default=10) + 2
        options.clear_options()
        for choice in self._choices.values():
            line = Text(f"{choice.id:<{id_width}}" if self._with_details else choice.id, style="bold", end="")
            if self._with_details:
                line.append(f"{choice.category:<10}{choice.n_items:>4} items", style="dim")
            options.add_option(Option(line, id=choice.id))
        if highlighted is not None and highlighted < options.option_count:
            options.highlighted = highlighted

    def on_resize(self) -> None:
        self.call_after_refresh(self._refit)  # once the list inside has its new size

    def _refit(self) -> None:
        if self._choices and self._wants_details() != self._with_details:
            self._fill_options()

    @on(OptionList.OptionHighlighted, "#task-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id in self._choices:
            self.query_one("#task-detail", Static).update(describe(self._choices[event.option.id]))

    @on(OptionList.OptionSelected, "#task-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.query_one(Input).value = event.option.id

    @on(Input.Changed, "#task-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._show(event.value.strip())

    def _show(self, text: str) -> None:
        detail = self.query_one("#task-detail", Static)
        if text in self._choices:
            detail.update(describe(self._choices[text]))
            options = self.query_one(OptionList)
            index = list(self._choices).index(text)
            if options.highlighted != index:
                options.highlighted = index
        elif text and Path(text).expanduser().exists():
            detail.update(literal_text(f"task from {text} (checked when the session starts)"))
        elif text:
            detail.update(literal_text(f"✗ no built-in task or folder called {text!r}", style="bold"))
        else:
            detail.update(Text("pick a task from the list", style="dim"))
