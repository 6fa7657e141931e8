"""ModelPicker: pick a catalog model (with its availability here) or type any model spec, checked as you type.

A served model's spec (``openai:...``, ``ollama:NAME``) is also checked against its server: a thread worker asks
the server for its models and the line under the input says whether it answers, before any race starts."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from greentui.core.models.served_probe import ProbeResult
from greentui.core.models.spec import ModelSpec, SpecError
from greentui.tui.safe_text import literal_text

# catalog status -> (mark, the short word shown in the list)
STATUS_SHORT = {
    "available here": ("●", "here"),
    "cached": ("●", "cached"),
    "downloads on first use": ("↓", "download"),
    "needs a CUDA GPU": ("✗", "needs GPU"),
    "missing": ("✗", "missing"),
    "served here": ("●", "served here"),
    "no server here": ("✗", "no server"),
    "": (" ", ""),
}


@dataclass(frozen=True)
class CatalogChoice:
    """One pickable catalog line (a view of ``catalog.CatalogRow``)."""

    spec: str
    model: str
    status: str
    note: str


def check_spec(text: str) -> tuple[ModelSpec | None, Text]:
    """Parse ``text``; returns the spec (None when invalid) and the line to show under the input."""
    try:
        spec = ModelSpec.parse(text)
    except SpecError as exc:
        message = literal_text(f"✗ {exc.message}\n", style="bold")
        message.append_text(literal_text(exc.pointer))
        return None, message
    return spec, literal_text(f"✓ {spec.display_name}", style="bold")


class ModelPicker(Vertical):
    """An input for the spec text, the check result, and the catalog to pick from (Enter fills the input)."""

    class Changed(Message):
        """The spec text changed; ``spec`` is None when it does not parse."""

        def __init__(self, picker: ModelPicker, spec: ModelSpec | None) -> None:
            super().__init__()
            self.picker = picker
            self.spec = spec

    class ServerProbed(Message):
        """A served spec's server was asked for its models (from the probe thread)."""

        def __init__(self, spec: ModelSpec, result: ProbeResult) -> None:
            super().__init__()
            self.spec = spec
            self.result = result

    def __init__(self, side: str, value: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes=f"picker -side-{side.lower()}")
        self.side = side
        self._value = value
        self.spec: ModelSpec | None = None
        self.probe: ProbeResult | None = None  # the last answer of a served spec's server
        self._choices: list[CatalogChoice] = []
        self._line = Text()

    def compose(self) -> ComposeResult:
        yield Input(
            self._value,
            placeholder="smollm2-135m@bf16, org/model@nf4, ./folder, file.gguf, fake:x",
            id=f"spec-{self.side.lower()}",
            classes="spec-input",
        )
        yield Static(classes="spec-check")
        yield OptionList(classes="catalog-list")

    def on_mount(self) -> None:
        self.border_title = f"Model {self.side}"
        self._check(self._value)

    @property
    def text(self) -> str:
        return self.query_one(Input).value.strip()

    def set_catalog(self, choices: list[CatalogChoice]) -> None:
        """Fill the list of catalog models (loaded off the UI thread: availability checks touch the disk)."""
        self._choices = choices
        options = self.query_one(OptionList)
        options.clear_options()
        width = max((len(c.spec) for c in choices), default=10) + 2
        for choice in choices:
            mark, word = STATUS_SHORT.get(choice.status, (" ", choice.status))
            line = Text(f"{mark} ", end="")
            line.append(f"{choice.spec:<{width}}", style="bold")
            line.append(word, style="dim" if choice.status in ("available here", "cached") else "italic")
            options.add_option(Option(line, id=choice.spec))

    @on(Input.Changed, ".spec-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._check(event.value)

    @on(OptionList.OptionSelected, ".catalog-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.query_one(Input).value = event.option.id

    def _check(self, text: str) -> None:
        self.spec, line = check_spec(text)
        self.probe = None
        if self.spec is not None:
            note = next((c for c in self._choices if c.spec == str(self.spec)), None)
            if note is not None and note.status not in ("available here", "cached", "served here"):
                line.append_text(literal_text(f"  ({note.status}{': ' + note.note if note.note else ''})"))
            if self.spec.is_served:
                line.append_text(literal_text("\n… asking the server", style="dim"))
                self.ask_server(self.spec)
        self._line = line
        check = self.query_one(".spec-check", Static)
        check.update(line)
        check.set_class(self.spec is None, "-invalid")
        self.post_message(self.Changed(self, self.spec))

    @work(thread=True, exclusive=True, exit_on_error=False, group="server-probe", description="ask the server")
    def ask_server(self, spec: ModelSpec) -> None:
        """Probe a served spec's server off the UI thread; a newer spec cancels the older probe's report."""
        from greentui.core.models.served_probe import probe_endpoint

        endpoint = spec.endpoint
        if endpoint is not None:
            self.post_message(self.ServerProbed(spec, probe_endpoint(endpoint)))

    @on(ServerProbed)
    def _probed(self, event: ServerProbed) -> None:
        event.stop()
        if event.spec != self.spec:
            return  # the input changed meanwhile
        self.probe = event.result
        line = self._line.copy()
        line.right_crop(len("\n… asking the server"))
        mark = "✓" if event.result.ready else "✗"
        line.append_text(
            literal_text(f"\n{mark} server {event.result.line}", style="bold" if event.result.ready else "")
        )
        check = self.query_one(".spec-check", Static)
        check.update(line)
        check.set_class(not event.result.ready, "-unreachable")
