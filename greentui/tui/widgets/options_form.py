"""OptionsForm: item limit, schedule, power source, country or grid intensity, idle baseline seconds, and the switch
that stops the race once the comparison is settled."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.validation import Function, Integer, Number
from textual.widgets import Input, Label, Select, Switch

SCHEDULES = (("alternate (ABBA)", "alternate"), ("sequential", "sequential"), ("parallel (2 devices)", "parallel"))


class OptionsError(ValueError):
    """A field of the options form holds something unusable; the message names the field."""


def _field(label: str, widget: Input | Select[str] | Switch) -> Vertical:
    return Vertical(Label(label, classes="field-label"), widget, classes="field")


class OptionsForm(Grid):
    """The session options; :meth:`values` returns SessionConfig keyword arguments or raises OptionsError."""

    def __init__(self, initial: dict[str, Any], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.initial = initial

    def on_mount(self) -> None:
        self.border_title = "Options"

    def compose(self) -> ComposeResult:
        get = self.initial.get
        yield _field(
            "item limit",
            Input(
                "" if get("limit") is None else str(get("limit")),
                placeholder="all",
                id="opt-limit",
                validators=[Integer(minimum=1)],
                valid_empty=True,
                restrict=r"\d*",
            ),
        )
        yield _field(
            "schedule", Select(SCHEDULES, value=get("schedule") or "alternate", allow_blank=False, id="opt-schedule")
        )
        yield _field(
            "power source",
            Input(
                get("power_source") or "auto", placeholder="auto | nvml | rapl | estimate | replay:FILE", id="opt-power"
            ),
        )
        yield _field(
            "country (ISO3)",
            Input(
                get("country") or "",
                placeholder="e.g. FRA",
                id="opt-country",
                max_length=3,
                restrict=r"[A-Za-z]*",
                validators=[Function(lambda v: len(v) == 3, "three letters")],
                valid_empty=True,
            ),
        )
        yield _field(
            "or grid g CO2e/kWh",
            Input(
                "" if get("grid_intensity") is None else f"{get('grid_intensity'):g}",
                placeholder="e.g. 380",
                id="opt-grid",
                validators=[Number(minimum=0.0)],
                valid_empty=True,
                type="number",
            ),
        )
        yield _field(
            "idle baseline (s)",
            Input(
                f"{get('idle_s', 3.0):g}", id="opt-idle", validators=[Number(minimum=0.0, maximum=600.0)], type="number"
            ),
        )
        # anytime-valid: checked after every pair, items in a seeded random order (alpha and margin: see --help)
        stop = Switch(bool(get("stop_when_settled")), id="opt-stop")
        stop.tooltip = (
            "Stop as soon as the accuracy comparison is settled: items run in a seeded random order and "
            "anytime-valid confidence sequences are checked after every A/B pair"
        )
        yield _field("stop when settled", stop)

    def values(self) -> dict[str, Any]:
        """The options as SessionConfig keyword arguments; raises OptionsError naming the first bad field."""

        def text(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value.strip()

        limit, grid, idle = text("opt-limit"), text("opt-grid"), text("opt-idle")
        country = text("opt-country").upper()
        if limit and (not limit.isdigit() or int(limit) < 1):
            raise OptionsError(f"item limit must be a whole number of at least 1, not {limit!r}")
        if country and len(country) != 3:
            raise OptionsError(f"country must be an ISO 3166 alpha-3 code such as FRA, not {country!r}")
        try:
            grid_value = float(grid) if grid else None
            idle_value = float(idle) if idle else 0.0
        except ValueError:
            raise OptionsError("grid intensity and idle baseline must be numbers") from None
        if grid_value is not None and grid_value < 0:
            raise OptionsError("grid intensity cannot be negative")
        if not 0.0 <= idle_value <= 600.0:
            raise OptionsError("idle baseline must be between 0 and 600 seconds")
        schedule = self.query_one("#opt-schedule", Select).value
        return {
            "limit": int(limit) if limit else None,
            "schedule": schedule if isinstance(schedule, str) else "alternate",
            "power_source": text("opt-power") or "auto",
            "country": country or None,
            "grid_intensity": grid_value,
            "idle_s": idle_value,
            "stop_when_settled": self.query_one("#opt-stop", Switch).value,
        }
