"""Help: the keys of the screen underneath, and where every figure on screen comes from."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

FIGURES = (
    (
        "power now",
        "total draw of the measured devices now, with its source (nvml, rapl, estimate, replay); shown in "
        "the lane of the model generating (one model runs at a time, in ABBA order)",
    ),
    (
        "energy",
        "sum of the model's item windows: hardware counter deltas where there is a counter, else power "
        "integrated over the window",
    ),
    ("tokens/s", 'end-to-end: new tokens / item time; "now": the item in flight'),
    ("TTFT", "time to the first new token (median over the items)"),
    (
        "J / token",
        "window energy / new tokens;  J / correct: run energy / correct answers (J / correct-eq.: per unit of "
        "score, for continuous scores such as ROUGE-L, where no item is simply correct)",
    ),
    (
        "score",
        "named by the task's metric (accuracy, ROUGE-L F1, pass@1, execution accuracy): mean score with its 95% CI "
        "(Wilson for right/wrong scores, bootstrap for continuous ones)",
    ),
    ("CO2e", "energy (kWh) × grid intensity (g/kWh) × PUE; the grid figure's source is in the header"),
    ("est.", "derived from an estimated power source (no sensor): the ranking holds, the joules are approximate"),
    ("chart", "bars: total power; colour: the model active then; dashed line: the idle baseline"),
    ("ETA", "about: each side's median item time × the items it has left"),
    (
        "small terminal",
        "TTFT and tokens/s fold away first, then CO2e and J / correct (the verdict has them all); power, energy, "
        "J / token and the score with its interval always show",
    ),
)
HIDDEN_ACTIONS = {"focus_next", "focus_previous", "screen.copy_text", "app.copy_text"}


class HelpScreen(ModalScreen[None]):
    """Keys of ``screen`` (taken from its active bindings) and the meaning of the figures."""

    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "close")]

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self._keys = Table.grid(padding=(0, 2))
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.description in seen or binding.action in HIDDEN_ACTIONS:
                continue
            seen.add(binding.description)
            self._keys.add_row(Text(screen.app.get_key_display(binding), style="bold"), Text(binding.description))

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help-dialog"):
            yield Static(Text("Keys", style="bold"))
            yield Static(self._keys)
            yield Static(Text("\nWhere the figures come from", style="bold"))
            figures = Table.grid(padding=(0, 2))
            figures.add_column(style="bold", no_wrap=True)
            figures.add_column()
            for name, meaning in FIGURES:
                figures.add_row(name, meaning)
            yield Static(figures)
            yield Static(Text("\nescape closes this help", style="dim"))
