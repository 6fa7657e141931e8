"""The setup screen: model A, model B, the task and the options; remembers the last choices."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Input, OptionList, Select, Static

from greentui.tui.messages import CatalogLoaded, TasksLoaded, post_result
from greentui.tui.preferences import load_choices, save_choices
from greentui.tui.safe_text import literal_text
from greentui.tui.widgets.key_footer import KeyFooter
from greentui.tui.widgets.model_picker import CatalogChoice, ModelPicker

if TYPE_CHECKING:
    from greentui.core.config import SessionConfig
from greentui.tui.widgets.options_form import OptionsError, OptionsForm
from greentui.tui.widgets.task_picker import TaskChoice, TaskPicker

DEFAULTS: dict[str, Any] = {
    "model_a": "smollm2-135m@fp32",
    "model_b": "smollm2-135m@nf4",
    "task": "",
    "schedule": "alternate",
    "power_source": "auto",
    "idle_s": 3.0,
}


def catalog_choices() -> list[CatalogChoice]:
    """The catalog with availability here (checks the disk and NVML: call it off the UI thread)."""
    from greentui.core.models.resolve import catalog_rows

    return [CatalogChoice(row.spec, row.model, row.status, row.note) for row in catalog_rows()]


def task_choices() -> list[TaskChoice]:
    """The built-in tasks (reads their files: call it off the UI thread)."""
    from greentui.core.evaluate.tasks import builtin_tasks

    return [
        TaskChoice(t.id, t.name, t.description, t.category, len(t.items), t.metric, t.baseline) for t in builtin_tasks()
    ]


COMPACT_BELOW_ROWS = 34  # terminal rows under which the setup screen drops the widgets' borders


class SetupScreen(Screen[None]):
    """Pick two models and a task, set the options, run (ctrl+r)."""

    BINDINGS = [
        Binding("ctrl+r", "run", "run", priority=True),
        Binding("ctrl+o", "app.history", "history"),
        Binding("f2", "swap", "swap A/B"),
    ]

    def __init__(self, initial: SessionConfig | None = None) -> None:
        super().__init__()
        self.initial = initial  # a SessionConfig to start from (the demo), else the remembered choices

    def _start_values(self) -> dict[str, Any]:
        values = dict(DEFAULTS)
        values.update(load_choices())
        if self.initial is not None:
            values.update(dataclasses.asdict(self.initial))
        return values

    def compose(self) -> ComposeResult:
        values = self._start_values()
        yield Static(" greentui ─ set up a head-to-head: two models, one task", id="setup-heading")
        with Horizontal(id="pickers"):
            yield ModelPicker("A", values["model_a"], id="picker-a")
            yield ModelPicker("B", values["model_b"], id="picker-b")
            yield TaskPicker(values.get("task") or "", id="task-picker")
        yield OptionsForm(values, id="options-form")
        with Horizontal(id="setup-actions"):
            yield Static(id="setup-error")
            yield Button("Run  ctrl+r", variant="success", id="run-button")
        yield KeyFooter()

    def on_resize(self, event: events.Resize) -> None:
        """On a short terminal, inputs, lists and the button lose their borders, so both models with their
        variants, the task list and the Run button fit 80x24."""
        compact = event.size.height < COMPACT_BELOW_ROWS
        if compact != self.has_class("-compact"):
            self.set_class(compact, "-compact")
            for widget in self.query("Input, Select, OptionList, Button"):
                if isinstance(widget, (Input, Select, OptionList, Button)):
                    widget.compact = compact

    def on_mount(self) -> None:
        if self.app.animation_level == "none":  # tests and screenshots: no blinking cursor
            for field in self.query(Input):
                field.cursor_blink = False
        self.query_one("#spec-a", Input).focus()
        self.load_catalog()
        self.load_tasks()

    # ---- data that needs the disk, loaded in thread workers ----------------------------------------------
    @work(thread=True, exit_on_error=False, group="setup-data", description="model catalog")
    def load_catalog(self) -> None:
        post_result(self, lambda: CatalogLoaded(catalog_choices()), failure="cannot list the model catalog")

    @work(thread=True, exit_on_error=False, group="setup-data", description="built-in tasks")
    def load_tasks(self) -> None:
        post_result(self, lambda: TasksLoaded(task_choices()), failure="cannot list the built-in tasks")

    @on(CatalogLoaded)
    def _catalog_loaded(self, message: CatalogLoaded) -> None:
        for picker in self.query(ModelPicker):
            picker.set_catalog(message.choices)

    @on(TasksLoaded)
    def _tasks_loaded(self, message: TasksLoaded) -> None:
        task_picker = self.query_one(TaskPicker)
        task_picker.set_tasks(message.tasks)
        if not task_picker.text and message.tasks:
            task_picker.query_one(Input).value = message.tasks[0].id

    # ---- actions -----------------------------------------------------------------------------------------
    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        self.focus_next()

    @on(Button.Pressed, "#run-button")
    def _run_pressed(self) -> None:
        self.action_run()

    def action_swap(self) -> None:
        a, b = self.query_one("#spec-a", Input), self.query_one("#spec-b", Input)
        a.value, b.value = b.value, a.value

    def choices(self) -> dict[str, Any]:
        """The SessionConfig keyword arguments on screen; raises ValueError naming the first bad field."""
        picker_a, picker_b = self.query_one("#picker-a", ModelPicker), self.query_one("#picker-b", ModelPicker)
        for picker in (picker_a, picker_b):
            if picker.spec is None:
                raise ValueError(f"model {picker.side}: the spec does not parse (see the message under it)")
        task = self.query_one(TaskPicker).text
        if not task:
            raise ValueError("pick a task")
        return {
            "model_a": str(picker_a.spec),
            "model_b": str(picker_b.spec),
            "task": task,
            **self.query_one(OptionsForm).values(),
        }

    def action_run(self) -> None:
        from greentui.core.run.session import SessionConfig

        error = self.query_one("#setup-error", Static)
        base = dataclasses.asdict(self.initial) if self.initial is not None else {}
        try:
            choices = self.choices()
            config = SessionConfig.from_dict({**base, **choices})  # a value of the wrong type: ValueError
        except (ValueError, OptionsError) as exc:
            error.update(literal_text(f"✗ {exc}", style="bold"))
            self.notify(str(exc), title="cannot run yet", severity="error")
            return
        error.update("")
        try:
            save_choices(choices)
        except OSError as exc:  # remembering is a convenience: say so, and run anyway
            self.notify(f"could not remember these choices: {exc.strerror or exc}", severity="warning")
        self.app.start_session(config)  # type: ignore[attr-defined]  # GreentuiApp's; screens are typed against App
