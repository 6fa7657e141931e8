"""A deterministic head-to-head session as a list of events (fixed times, ids and outputs), for TUI tests.

Two models answer sentiment items in ABBA order; the power trace is idle at 4 W, ~18 W while A generates and
~14 W while B does, sampled at 20 Hz. Nothing here is random or reads a clock, so screenshots are stable.
"""

from __future__ import annotations

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
    Side,
    TokenEvent,
)
from tests.helpers.started import started_from_flat

T0 = 1000.0
STARTED_UNIX_S = 1_795_300_000.0  # 2026-11-21, shown as a local date (tests pin TZ=UTC)
SESSION_ID = "8f3a2c1b9d04"
SAMPLE_HZ = 20.0
IDLE_W = 4.0
ACTIVE_W: dict[Side, float] = {"A": 18.0, "B": 14.0}
TOKEN_S = 0.05

REVIEWS = (
    ("The battery died after two days and support never answered.", "negative"),
    ("Crisp screen, fast delivery, and it just works.", "positive"),
    ("I wanted to love it, but the hinge cracked within a week.", "negative"),
    ("Best purchase this year: quiet, light and well made.", "positive"),
    ("Arrived late, box crushed, one part missing.", "negative"),
    ("The sound is warm and the app is surprisingly good.", "positive"),
    ("Refund took a month; never again.", "negative"),
    ("Comfortable all day, and the colour matches the photos.", "positive"),
)


def _answer(side: Side, index: int, reference: str) -> str:
    """A is wrong on every 5th item (from the 4th), B on every 4th (from the 2nd): a visible, fixed gap."""
    wrong = index % 5 == 3 if side == "A" else index % 4 == 1
    if not wrong:
        return reference
    return "positive" if reference == "negative" else "negative"


def _tokens(answer: str) -> list[str]:
    return ["The", " review", " is", f" {answer}", "."]


def _schedule(n_items: int) -> list[tuple[Side, int]]:
    order: list[tuple[Side, int]] = []
    for i in range(n_items):
        order += [("A", i), ("B", i)] if i % 2 == 0 else [("B", i), ("A", i)]
    return order


def race_events(
    n_items: int = 8,
    *,
    outputs: dict[tuple[Side, int], str] | None = None,
    fail: tuple[Side, int] | None = None,
    until_s: float | None = None,
    finished: bool = True,
    session_id: str = SESSION_ID,
    started_unix_s: float = STARTED_UNIX_S,
    task: tuple[str, str, str] = ("sentiment", "Sentiment", "nlp"),
    stop_after: int | None = None,
) -> list[Event]:
    """The events of a session of ``n_items`` per side, in time order.

    ``outputs``: override the generated text of (side, index) (e.g. markup or escape sequences).
    ``fail``: that side's worker dies when it starts that item (RunFailed; the other side goes on).
    ``until_s``: cut the stream at T0 + until_s (a session caught mid-item); no SessionFinished then.
    ``session_id``, ``started_unix_s``, ``task`` (id, name, category): to fill a history with several sessions.
    ``stop_after``: the user stops the session after that many items per side (status interrupted).
    """
    task_id, task_name, category = task
    outputs = outputs or {}
    timed: list[tuple[float, int, Event]] = []
    seq = 0

    def add(t: float, event: Event) -> None:
        nonlocal seq
        timed.append((t, seq, event))
        seq += 1

    grid = GridIntensity(g_per_kwh=56.0, source="codecarbon data: FRA", country_iso3="FRA")
    add(
        T0,
        started_from_flat(
            session_id=session_id,
            task_id=task_id,
            task_name=task_name,
            n_items=n_items,
            schedule="alternate",
            model_a="smollm2-135m@fp32",
            model_b="smollm2-135m@nf4",
            power_sources=("estimate:cpu",),
            power_quality="estimated",
            power_note="estimated (no RAPL, no GPU)",
            grid=grid,
            started_unix_s=started_unix_s,
            t_mono_s=T0,
            settings={
                "task_info": {
                    "id": task_id,
                    "name": task_name,
                    "category": category,
                    "metric": "accuracy",
                    "baseline": 0.5,
                    "continuous": False,
                },
                "requests_per_day": 1e6,
            },
        ),
    )
    for side, quant in (("A", "none"), ("B", "nf4")):
        add(T0 + 0.1, ModelLoading(side=side, stage="reading weights", fraction=0.5, t_mono_s=T0 + 0.1))
        add(
            T0 + 0.5,
            ModelLoaded(
                side=side,
                spec=f"smollm2-135m@{'fp32' if side == 'A' else 'nf4'}",
                display_name="SmolLM2-135M-Instruct",
                params_total=134_515_008,
                params_trainable=134_515_008,
                weight_bytes=538_060_032,
                dtype="fp32",
                quant=quant,
                device="cpu",
                load_s=0.4,
                peak_rss_bytes=None,
                peak_cuda_bytes=None,
                t_mono_s=T0 + 0.5,
                base_spec=f"smollm2-135m@{'fp32' if side == 'A' else 'nf4'}",
            ),
        )
    add(
        T0 + 2.5,
        IdleMeasured(
            seconds=2.0, joules=2.0 * IDLE_W, power_w=IDLE_W, quality="estimated", source="estimate", t_mono_s=T0 + 2.5
        ),
    )

    windows: list[tuple[float, float, Side]] = []
    t = T0 + 2.6
    dead: set[Side] = set()
    for side, index in _schedule(n_items):
        if side in dead or (stop_after is not None and index >= stop_after):
            continue
        prompt, reference = REVIEWS[index % len(REVIEWS)]
        item_id = f"sent-{index + 1:03d}"
        if fail == (side, index):
            add(
                t,
                RunFailed(
                    side=side,
                    reason=f"model {side} (smollm2-135m) failed on item {item_id}: "
                    "worker process killed (out of memory?)",
                    failure="oom",
                    t_mono_s=t,
                ),
            )
            dead.add(side)
            t += 0.2
            continue
        text = outputs.get((side, index))
        pieces = [text] if text is not None else _tokens(_answer(side, index, reference))
        output = "".join(pieces)
        add(t, ItemStarted(side=side, item_id=item_id, index=index, prompt=prompt, t_mono_s=t))
        first = t + 0.1
        for n, piece in enumerate(pieces, start=1):
            add(
                first + (n - 1) * TOKEN_S,
                TokenEvent(side=side, item_id=item_id, text=piece, n_tokens=n, t_mono_s=first + (n - 1) * TOKEN_S),
            )
        end = first + len(pieces) * TOKEN_S + 0.05
        answer = output.strip().rstrip(".").split()[-1] if output.strip() else None
        seconds = end - t
        add(
            end,
            ItemScored(
                side=side,
                item_id=item_id,
                index=index,
                prompt=prompt,
                output=output,
                answer=answer,
                reference=reference,
                score=1.0 if answer == reference else 0.0,
                tokens_in=42,
                tokens_out=len(pieces) + 1,
                ttft_s=0.1,
                seconds=seconds,
                joules=round(ACTIVE_W[side] * seconds, 6),
                energy_quality="estimated",
                energy_source="estimate",
                energy_flagged=False,
                started_mono_s=t,
                first_token_mono_s=first,
                last_token_mono_s=first + (len(pieces) - 1) * TOKEN_S,
                ended_mono_s=end,
            ),
        )
        windows.append((t, end, side))
        t = end + 0.15
    end_t = t
    if finished:
        status, reason = "completed", ""
        if fail is not None:
            status, reason = "failed", f"model {fail[0]} failed: worker process killed (out of memory?)"
        elif stop_after is not None:
            status, reason = "interrupted", "stopped by the user"
        add(
            end_t,
            SessionFinished(
                status=status,
                reason=reason,
                t_mono_s=end_t,  # type: ignore[arg-type]
                ended_unix_s=started_unix_s + end_t - T0,
                measurements={"sample_rate_hz": 20.0},
            ),
        )

    n_samples = int((end_t - T0) * SAMPLE_HZ)
    for k in range(n_samples + 1):
        ts = T0 + k / SAMPLE_HZ
        watts = IDLE_W
        for start, stop, side in windows:
            if start <= ts <= stop:
                watts = ACTIVE_W[side] + (k % 7) * 0.3  # a fixed ripple, so the bars are not flat
        add(
            ts,
            PowerSampled(PowerSample(t_mono_s=ts, device="cpu", power_w=watts, source="estimate", quality="estimated")),
        )

    timed.sort(key=lambda entry: (entry[0], entry[1]))
    limit = None if until_s is None else T0 + until_s
    return [event for ts, _, event in timed if limit is None or ts <= limit]


def fill_store(store: object, events: list[Event], *, verdict: bool = True) -> str:
    """Write ``events`` into ``store`` through its writer (as a live run does); returns the session id.

    ``verdict``: also save the verdict of the stream, as ``services.SessionRun`` does at the end of a run.
    """
    from greentui.core.run.judge import verdict_from_tally
    from greentui.core.run.tally import Tally

    writer = store.writer()  # type: ignore[attr-defined]
    tally = Tally()
    for event in events:
        writer.handle(event)
        tally.apply(event)
    writer.close()
    assert tally.started is not None
    session_id = tally.started.session_id
    if verdict and any(lane.items for lane in tally.sides.values()):
        result = verdict_from_tally(tally)
        store.save_verdict(session_id, result.to_dict(), result.sentence)  # type: ignore[attr-defined]
    return session_id


class HeldFeed:
    """A live-looking feed: folds its events into its one tally and hands them over, as a session does; then holds
    (as a session mid-item does) until stopped, or, when the events end the session, ends with the verdict
    computed once from that tally (as ``services.SessionRun`` does).

    Pause, resume and stop are recorded so tests can check what the screen asked for.
    """

    live = True
    label = "live"

    def __init__(self, events: list[Event]) -> None:
        import threading

        from greentui.core.run.tally import Tally

        self.events = events
        self.calls: list[str] = []
        self.tally = Tally()
        self._stop = threading.Event()

    def run(self, sink):  # type: ignore[no-untyped-def]
        from greentui.core.run.judge import verdict_from_tally
        from greentui.tui.feeds import FeedEnd

        for event in self.events:
            self.tally.apply(event)
            sink(event)
        finished = self.tally.finished
        if finished is not None:
            judged = any(lane.items for lane in self.tally.sides.values())
            return FeedEnd(finished.status, verdict_from_tally(self.tally) if judged else None)
        self._stop.wait()
        return FeedEnd("interrupted")

    def request_stop(self) -> None:
        self.calls.append("stop")
        self._stop.set()

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")
