"""StoppingStatus: the stopping rule's two running intervals and whether the comparison has settled yet.

Hidden for a session that runs its items in file order (no stopping rule); otherwise two lines under the power
chart, redrawn from the tally after every pair::

    ● settled after 34 of 60 items: B more accurate · accuracy B − A +12 … +58 points
      energy B/A 0.81 … 1.20 (not settled) · α 0.05 · margin ±5 points · stops when settled
"""

from __future__ import annotations

from rich.text import Text

from greentui.core.run.tally import Tally
from greentui.core.verdict.stopping import accuracy_interval, energy_interval, outcome_words
from greentui.tui.widgets.text_line import TextLine


def stopping_text(tally: Tally) -> Text:
    """The two lines for ``tally`` (a session with a stopping rule)."""
    stopper = tally.stopper
    check = tally.stopping
    rule = "stops when settled" if stopper is not None and stopper.stop_when_settled else "watching only"
    if check is None:
        planned = stopper.monitor.planned if stopper is not None else 0
        return Text.assemble(
            ("○ not settled yet", "bold"),
            f" · no complete pair yet (at most {planned} items)\n  {rule}",
            end="",
        )
    accuracy = outcome_words("accuracy", check.accuracy_outcome, check.delta)
    energy = outcome_words("energy", check.energy_outcome, check.delta)
    text = Text(end="")
    if check.settled:
        after = stopper.settled_after if stopper is not None and stopper.settled_after else check.n_pairs
        text.append(f"● settled after {after} of {check.planned} items: {accuracy}", style="bold green")
    else:
        text.append(f"○ not settled yet ({check.n_pairs} of {check.planned} items)", style="bold")
    text.append(f" · accuracy {accuracy_interval(check.accuracy_lo, check.accuracy_hi)}")
    text.append(
        f"\n  energy {energy_interval(check.energy_lo, check.energy_hi)} ({energy}) · α {check.alpha:g} · margin "
        f"±{check.delta * 100:g} points · {rule}"
    )
    return text


class StoppingStatus(TextLine):
    """Passive view of the tally's stopping rule; hides itself when the session has none."""

    def show(self, tally: Tally) -> None:  # type: ignore[override]
        visible = tally.stopper is not None
        if self.display != visible:
            self.display = visible
        if visible:
            super().show(stopping_text(tally))
