"""A realistic live event stream for store tests and benchmarks, built on a simulated clock.

Events come out in the order a live session emits them: power samples (two devices) interleave with model
loading, the idle baseline, items in ABBA order with their tokens, an optional run failure and the end.
Values are deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from greentui.core.records import (
    Event,
    GridIntensity,
    IdleMeasured,
    ItemScored,
    ItemStarted,
    ModelLoaded,
    ModelLoading,
    PowerSample,
    PowerSampled,
    RunFailed,
    SessionFinished,
    SessionStarted,
    Side,
    TokenEvent,
)
from tests.helpers.started import started_from_flat

DEVICES = (("gpu0", "nvml", "measured", "1s-average"), ("cpu-package-0", "rapl", "measured", "instant"))


@dataclass
class LiveSession:
    """Parameters of one simulated session; iterate :meth:`events` for the stream."""

    session_id: str
    n_items: int = 6
    sample_hz: float = 10.0
    t0_mono_s: float = 1000.0
    started_unix_s: float = 1_780_000_000.0
    task_id: str = "sentiment"
    fail_side: Side | None = None  # this side fails (crash) half way through
    finish: bool = True  # False: stop before SessionFinished (an interrupted stream)
    stop_after_items: int | None = None  # only this many ItemScored events are emitted
    seed: int = 0
    settings: dict = field(default_factory=dict)

    def started(self) -> SessionStarted:
        settings = {
            "task_version": "v-" + self.task_id,
            "model_a": "fake:a",
            "model_b": "fake:b",
            "task": self.task_id,
            "limit": self.n_items,
            "schedule": "alternate",
            "sample_hz": self.sample_hz,
            "idle_s": 0.5,
            "country": "FRA",
            "grid_intensity": None,
            "pue": 1.0,
            **self.settings,
        }
        return started_from_flat(
            session_id=self.session_id,
            task_id=self.task_id,
            task_name=self.task_id.title(),
            n_items=self.n_items,
            schedule="alternate",
            model_a="fake:oracle?accuracy=0.9",
            model_b="fake:oracle?accuracy=0.7",
            power_sources=("nvml:gpu0", "rapl:package-0"),
            power_quality="measured",
            power_note="NVML + RAPL",
            grid=GridIntensity(g_per_kwh=56.0, source="codecarbon data: FRA", country_iso3="FRA", pue=1.0),
            started_unix_s=self.started_unix_s,
            t_mono_s=self.t0_mono_s,
            settings=settings,
        )

    def events(self) -> Iterator[Event]:
        rng = random.Random(self.seed)
        clock = _Clock(self.t0_mono_s, 1.0 / self.sample_hz, rng)
        yield self.started()
        for side in ("A", "B"):
            for stage, fraction in (("tokenizer", 0.2), ("weights", 0.7)):
                yield from clock.advance(0.3)
                yield ModelLoading(side=side, stage=stage, fraction=fraction, t_mono_s=clock.now)
            yield from clock.advance(0.3)
            yield ModelLoaded(
                side=side,
                spec=f"fake:{side.lower()}",
                display_name=f"Fake {side}",
                params_total=134_515_008,
                params_trainable=134_515_008,
                weight_bytes=269_030_016,
                dtype="bf16",
                quant="none",
                device="cpu",
                load_s=0.9,
                peak_rss_bytes=1_000_000_000,
                peak_cuda_bytes=None,
                t_mono_s=clock.now,
                base_spec=f"fake:{side.lower()}",  # as a session sets it: the spec without an adapter (none here)
            )
        yield from clock.advance(0.5)
        yield IdleMeasured(
            seconds=0.5, joules=21.5, power_w=43.0, quality="measured", source="nvml+rapl", t_mono_s=clock.now
        )
        failed: set[str] = set()
        scored = 0
        for index in range(self.n_items):
            order = ("A", "B") if index % 2 == 0 else ("B", "A")  # ABBA
            for side in order:
                if side in failed:
                    continue
                if self.stop_after_items is not None and scored >= self.stop_after_items:
                    return
                item_id = f"item-{index:03d}"
                yield from clock.advance(0.01)
                start = clock.now
                yield ItemStarted(side=side, item_id=item_id, index=index, prompt=f"Question {index}?", t_mono_s=start)
                if self.fail_side == side and index == self.n_items // 2:
                    yield from clock.advance(0.2)
                    failed.add(side)
                    yield RunFailed(side=side, reason="worker B died (signal 9)", failure="crash", t_mono_s=clock.now)
                    continue
                n_tokens = rng.randint(2, 6)
                first = None
                for n in range(1, n_tokens + 1):
                    yield from clock.advance(rng.uniform(0.02, 0.06))
                    first = clock.now if first is None else first
                    yield TokenEvent(side=side, item_id=item_id, text=" tok", n_tokens=n, t_mono_s=clock.now)
                last = clock.now
                yield from clock.advance(0.005)
                correct = rng.random() < (0.9 if side == "A" else 0.7)
                seconds = clock.now - start
                yield ItemScored(
                    side=side,
                    item_id=item_id,
                    index=index,
                    prompt=f"Question {index}?",
                    output="positive" if correct else "negative, I think",
                    answer="positive" if correct else "negative",
                    reference="positive",
                    score=1.0 if correct else 0.0,
                    tokens_in=40 + index,
                    tokens_out=n_tokens,
                    ttft_s=(first or start) - start,
                    seconds=seconds,
                    joules=seconds * rng.uniform(80, 120),
                    energy_quality="measured",
                    energy_source="nvml",
                    energy_flagged=seconds < 0.1,
                    started_mono_s=start,
                    first_token_mono_s=first,
                    last_token_mono_s=last,
                    ended_mono_s=clock.now,
                    stop_reason="eos" if correct else "max-tokens",
                )
                scored += 1
        if self.finish:
            yield from clock.advance(0.2)
            yield SessionFinished(
                status="completed",
                reason="all items done",
                t_mono_s=clock.now,
                ended_unix_s=self.started_unix_s + (clock.now - self.t0_mono_s),
                measurements={"sample_rate_hz": self.sample_hz, "codecarbon": None},
            )


class _Clock:
    """Simulated time; advancing it first emits the power samples that fall due."""

    def __init__(self, t0: float, period_s: float, rng: random.Random) -> None:
        self.now = t0
        self._next_sample = t0 + period_s / 2
        self._period_s = period_s
        self._rng = rng
        self._energy_j = [5_000.0, 2_000.0]

    def advance(self, seconds: float) -> Iterator[PowerSampled]:
        target = self.now + seconds
        while self._next_sample < target:
            t = self._next_sample
            for n, sample in enumerate(realistic_samples(t, self._period_s, self._energy_j, self._rng)):
                self._energy_j[n] = sample.energy_counter_j or self._energy_j[n]
                yield PowerSampled(sample=sample)
            self._next_sample += self._period_s
        self.now = target


def realistic_samples(t_mono_s: float, period_s: float, energy_j: list[float], rng: random.Random) -> list[PowerSample]:
    """One reading of each of two devices: an H100-like GPU and a CPU package, with energy counters."""
    gpu_w = rng.uniform(180.0, 420.0)
    cpu_w = rng.uniform(35.0, 95.0)
    return [
        PowerSample(
            t_mono_s=t_mono_s,
            device="gpu0",
            power_w=round(gpu_w, 3),
            source="nvml",
            quality="measured",
            energy_counter_j=round(energy_j[0] + gpu_w * period_s, 3),
            power_kind="1s-average",
            temperature_c=float(rng.randint(45, 80)),
            sm_clock_mhz=float(rng.choice((1755, 1980))),
        ),
        PowerSample(
            t_mono_s=t_mono_s + 0.0003,
            device="cpu-package-0",
            power_w=round(cpu_w, 3),
            source="rapl",
            quality="measured",
            energy_counter_j=round(energy_j[1] + cpu_w * period_s, 6),
            power_kind="instant",
        ),
    ]
