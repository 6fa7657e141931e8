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
from greentui.tui.messages import post_result
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
        self._with_words = True  # the list is wide enough for "here" / "download" after each spec
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
        self._fill_options()

    def _wants_words(self) -> bool:
        """True when the list is wide enough for the availability word after the longest spec."""
        options = self.query_one(OptionList)
        spec_width = max((len(c.spec) for c in self._choices), default=10)
        word_width = max((len(STATUS_SHORT.get(c.status, (" ", c.status))[1]) for c in self._choices), default=0)
        return options.scrollable_content_region.width >= 2 + spec_width + 1 + word_width

    def _fill_options(self) -> None:
        """One line per catalog model: availability mark, spec, and where the list is wide enough, a word saying
        where it comes from. The chosen model (the spec in the input) shows reversed and highlighted."""
        options = self.query_one(OptionList)
        self._with_words = self._wants_words()
        options.clear_options()
        options.add_options(Option(self._prompt(c), id=c.spec) for c in self._choices)
        self._show_chosen()

    def _prompt(self, choice: CatalogChoice) -> Text:
        mark, word = STATUS_SHORT.get(choice.status, (" ", choice.status))
        chosen = self.spec is not None and str(self.spec) == choice.spec
        width = max((len(c.spec) for c in self._choices), default=10) + 1
        line = Text(f"{mark} ", end="", no_wrap=True, overflow="ellipsis")
        line.append(choice.spec, style="bold reverse" if chosen else "bold")
        if self._with_words:
            line.append(" " * (width - len(choice.spec)))
            line.append(word, style="dim" if choice.status in ("available here", "cached") else "italic")
        return line

    def _show_chosen(self) -> None:
        """Mark the chosen model in the list and move the list's highlight to it."""
        options = self.query_one(OptionList)
        chosen = str(self.spec) if self.spec is not None else None
        for index, choice in enumerate(self._choices):
            options.replace_option_prompt_at_index(index, self._prompt(choice))
            if choice.spec == chosen and options.highlighted != index:
                options.highlighted = index

    def on_resize(self) -> None:
        self.call_after_refresh(self._refit)  # once the list inside has its new size

    def _refit(self) -> None:
        if self._choices and self._wants_words() != self._with_words:
            self._fill_options()

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
        if self._choices:
            self._show_chosen()
        self.post_message(self.Changed(self, self.spec))

    @work(thread=True, exclusive=True, exit_on_error=False, group="server-probe", description="ask the server")
    def ask_server(self, spec: ModelSpec) -> None:
        """Probe a served spec's server off the UI thread; a newer spec cancels the older probe's report."""
        from greentui.core.models.served_probe import probe_endpoint

        endpoint = spec.endpoint
        if endpoint is not None:
            post_result(
                self, lambda: self.ServerProbed(spec, probe_endpoint(endpoint)), failure="cannot ask the server"
            )

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
