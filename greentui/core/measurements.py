"""The measurement records every layer shares: frozen dataclasses, units in the field names.

These are the values an event carries (a power sample, an energy window, the grid's carbon intensity, a prompt)
and the small vocabularies (sides, qualities, statuses, schedules). They are not events on their own: the events
are in :mod:`greentui.core.records`, which re-exports everything here so that importers keep one address.

Times: ``t_mono_s`` is ``time.monotonic()`` (CLOCK_MONOTONIC on Linux, shared by every process of the
machine, so a worker's timestamps compare directly with the parent's). ``*_unix_s`` is wall-clock time.
Anything a sensor cannot give is ``None``, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, overload

Side = Literal["A", "B"]
Quality = Literal["measured", "estimated"]
SessionStatus = Literal["running", "completed", "interrupted", "failed"]
Schedule = Literal["alternate", "sequential", "parallel"]

SIDES: tuple[Side, Side] = ("A", "B")

# A measurement window is "contended" when more than this share of the machine's CPU time went to processes
# outside the session (or another process had work on the models' GPU): its energy then includes their work.
# A quarter: one busy core of a 4-core machine; ordinary background work (an editor, a browser tab) stays below.
CONTENDED_CPU_SHARE = 0.25


def is_correct(score: float) -> bool:
    """A binary item is correct when it scored 1 (the one definition; see :mod:`greentui.core.figures`)."""
    return score >= 1.0


@dataclass(frozen=True, slots=True)
class PowerSample:
    """One reading of one device.

    ``energy_counter_j`` is the device's cumulative hardware counter at that instant (NVML total energy,
    RAPL energy_uj), or None where the device has none; ``power_w`` is the instantaneous (or averaged, see
    ``power_kind``) draw.
    """

    t_mono_s: float
    device: str  # e.g. "gpu0", "cpu-package-0", "cpu"
    power_w: float | None
    source: str  # "nvml", "rapl", "estimate", "replay"
    quality: Quality
    energy_counter_j: float | None = None
    power_kind: str = "instant"  # "instant" or "1s-average" (NVML power usage on A100/H100)
    temperature_c: float | None = None
    sm_clock_mhz: float | None = None


@dataclass(frozen=True, slots=True)
class Measurement:
    """Energy of one window (``meter.begin(key)`` ... ``meter.end(key)``), summed over the devices measured."""

    key: str
    start_mono_s: float
    end_mono_s: float
    joules: float | None
    source: str
    quality: Quality
    method: Literal["counter", "integrated", "none"] = "integrated"
    # True when the window is shorter than the counter's update period or holds too few samples to
    # integrate: the figure is kept but must not be trusted on its own.
    flagged_short: bool = False
    per_device_j: tuple[tuple[str, float], ...] = ()

    @property
    def seconds(self) -> float:
        return self.end_mono_s - self.start_mono_s

    @property
    def mean_power_w(self) -> float | None:
        if self.joules is None or self.seconds <= 0:
            return None
        return self.joules / self.seconds


@dataclass(frozen=True, slots=True)
class GridIntensity:
    """Carbon intensity of the electricity used: g CO2e per kWh, with where the figure came from."""

    g_per_kwh: float
    source: str  # e.g. "codecarbon data: FRA", "user (--grid-intensity)", "world average (unknown code XYZ)"
    country_iso3: str | None = None
    pue: float = 1.0

    @overload
    def grams_co2e(self, joules: float) -> float: ...
    @overload
    def grams_co2e(self, joules: None) -> None: ...
    @overload
    def grams_co2e(self, joules: float | None) -> float | None: ...
    def grams_co2e(self, joules: float | None) -> float | None:
        if joules is None:
            return None
        return joules / 3.6e6 * self.g_per_kwh * self.pue


@dataclass(frozen=True, slots=True)
class Prompt:
    """What a task asks a model: chat ``messages`` (role/content dicts, few-shot turns included) for models with
    a chat template, and the same conversation flattened to ``plain`` text for models without one."""

    messages: tuple[dict[str, str], ...]
    plain: str


class TokenSpeeds:
    """Speeds of one generation, as vLLM's benchmark defines them, for any record with ``tokens_out``,
    ``first_token_mono_s``, ``last_token_mono_s`` and ``seconds`` (the whole request)."""

    __slots__ = ()
    tokens_out: int | None  # None: a served model whose server reported no usage (and no tokenizer here)
    first_token_mono_s: float | None
    last_token_mono_s: float | None

    if TYPE_CHECKING:  # a field of the records that mix this in, or a property: read-only here

        @property
        def seconds(self) -> float:
            """The whole request, in seconds."""
            ...

    @property
    def decode_tokens_per_s(self) -> float | None:
        """(n_new - 1) / (t_last - t_first)."""
        if self.first_token_mono_s is None or self.last_token_mono_s is None or (self.tokens_out or 0) < 2:
            return None
        span = self.last_token_mono_s - self.first_token_mono_s
        return ((self.tokens_out or 0) - 1) / span if span > 0 else None

    @property
    def e2e_tokens_per_s(self) -> float | None:
        """n_new / total time of the request."""
        if self.tokens_out is None:
            return None
        return self.tokens_out / self.seconds if self.seconds > 0 else None
