"""The HTML report without a browser: the trace's bins and colours, the escaping, the provenance and contention
lines a session records, and a session with no verdict."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from greentui.core.records import ItemScored, PowerSample
from greentui.store import SessionStore
from greentui.text.html import contention_lines, provenance_lines, session_html
from greentui.text.html_chart import (
    COLOURS,
    LABEL_CHARS,
    TINTS,
    Interval,
    interval_svg,
    power_trace_svg,
    svg_text,
    trace_bins,
)
from greentui.text.listing import export_session
from tests.helpers.store_events import LiveSession
from tests.helpers.timezone import local_zone


def sample(t: float, device: str, watts: float) -> PowerSample:
    return PowerSample(t_mono_s=t, device=device, power_w=watts, source="replay", quality="measured")


def item(side: str, start: float, end: float) -> ItemScored:
    return ItemScored(
        side=side,  # type: ignore[arg-type]
        item_id=f"{side}{start}",
        index=0,
        prompt="p",
        output="o",
        answer="o",
        reference="o",
        score=1.0,
        tokens_in=1,
        tokens_out=4,
        ttft_s=0.1,
        seconds=end - start,
        joules=1.0,
        energy_quality="measured",
        energy_source="replay",
        energy_flagged=False,
        started_mono_s=start,
        first_token_mono_s=start + 0.1,
        last_token_mono_s=end,
        ended_mono_s=end,
    )


def test_bins_sum_devices_and_take_the_colour_of_the_model_at_work() -> None:
    samples = [sample(100 + k * 0.5, "gpu0", 100.0) for k in range(12)]
    samples += [sample(100 + k * 1.0, "cpu", 20.0) for k in range(6)]  # a slower second sensor
    samples.sort(key=lambda s: s.t_mono_s)
    items = [item("A", 101.0, 102.9), item("B", 103.0, 104.9)]
    bins, duration = trace_bins(samples, items, origin_mono_s=100.0, max_bins=12)
    assert duration == 5.5 and len(bins) == 12
    assert all(b.power_w == 120.0 for b in bins)  # the cpu's last mean counts where it has no sample
    by_time = {round(b.t_s, 2): b.activity for b in bins}
    assert by_time[0.23] == "idle" and by_time[1.15] == "A" and by_time[3.44] == "B" and by_time[5.27] == "idle"
    svg = power_trace_svg(samples, items, origin_mono_s=100.0, labels={"A": "A (x)", "B": "B (y)"}, idle_power_w=10.0)
    assert svg.startswith("<svg") and svg.count(f'fill="{TINTS["A"]}"') == 2  # its window and its legend swatch
    assert f'stroke="{COLOURS["A"]}"' in svg and f'stroke="{COLOURS["B"]}"' in svg and "idle baseline 10.0 W" in svg


def test_no_samples_gives_a_note_instead_of_a_chart() -> None:
    assert "No power samples" in power_trace_svg([], [], origin_mono_s=0.0, labels={})


def test_a_long_row_label_is_shortened_in_the_middle_and_kept_whole_in_its_tooltip() -> None:
    """Labels are right-aligned against the plot: a long one ran off the left edge of the picture and lost its
    side letter. Both ends stay (the side, and the "+ lora-arithmetic" that tells two variants apart)."""
    long = "B (SmolLM2-135M-Instruct@fp32 + lora-arithmetic)"
    svg = interval_svg(
        "accuracy",
        [Interval("A (short)", 10.0, 5.0, 15.0, COLOURS["A"]), Interval(long, 34.0, 22.7, 47.4, COLOURS["B"])],
        low=0.0,
        high=100.0,
    )
    shown = [t.rsplit(">", 1)[-1] for t in svg.split("</text>") if 'class="row"' in t and "(" in t]
    assert "A (short)" in shown
    cut = next(t for t in shown if t.startswith("B ("))
    assert len(cut) == LABEL_CHARS and "…" in cut and cut.endswith("arithmetic)")
    assert f"<title>{long}</title>" in svg


def test_svg_text_escapes_markup_and_controls() -> None:
    assert svg_text('<b a="1">\x1b]52;\x07\u202e&') == "&lt;b a=&quot;1&quot;&gt;\\x1b]52;\\x07\\u202e&amp;"


def test_recorded_provenance_and_contention_are_shown(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "g.db")
    writer = store.writer()
    live = LiveSession("s-prov", n_items=3, settings={"provenance": ["weights sha256 abc123", "driver 550.54"]})
    for event in live.events():
        writer.handle(event)
    writer.close()
    contention = {"other_cpu_share": 0.42, "contended_windows": "2 of 6"}
    store._write(
        "record contention",
        lambda d: d.execute(
            "UPDATE sessions SET measurements_json = ? WHERE id = 's-prov'",
            (json.dumps({"contention": contention, "sample_rate_hz": 10.0}),),
        ),
    )
    stored = store.load_session("s-prov")
    lines = provenance_lines(stored, None)
    assert "weights sha256 abc123" in lines and "driver 550.54" in lines
    assert lines[0].startswith("Power: NVML + RAPL (measured") and "sampled at 10.0 Hz" in lines[0]
    assert contention_lines(stored, list(stored.items)) == ["other_cpu_share: 0.42", "contended_windows: 2 of 6"]
    page = export_session(store, "s-prov", "html")
    assert "weights sha256 abc123" in page and "other_cpu_share: 0.42" in page and "<h2>Contention</h2>" not in page


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"prompt_cache": True}, "shared prompt prefix computed once per model (prompt cache)"),
        ({"prompt_cache": False}, "every prompt prefilled whole (--no-prompt-cache)"),
        ({}, None),  # stored before greentui recorded it: nothing claimed
    ],
)
def test_how_the_prompts_were_prefilled_is_in_the_provenance_and_in_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: dict[str, bool], said: str | None
) -> None:
    from greentui.text.listing import print_session

    store = SessionStore(tmp_path / "g.db")
    writer = store.writer()
    for event in LiveSession("s-cache", n_items=2, settings=settings).events():
        writer.handle(event)
    writer.close()
    task_line = next(line for line in provenance_lines(store.load_session("s-cache"), None) if line.startswith("Task"))
    print_session(store, "s-cache")
    shown = capsys.readouterr().out
    if said is None:
        assert "prompt" not in task_line and "prompts:" not in shown
    else:
        assert task_line.endswith(f"greedy decoding, {said}") and f"prompts: {said}" in shown


def test_a_session_without_items_still_makes_a_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SessionStore(tmp_path / "g.db")
    writer = store.writer()
    for event in LiveSession("s-empty", n_items=3, stop_after_items=0, finish=False).events():
        writer.handle(event)
    writer.close()
    with local_zone(monkeypatch, "UTC"):
        page = session_html(store.load_session("s-empty"), store.samples("s-empty"), None, generated_unix_s=0.0)
    assert "No verdict: no item finished on both sides." in page and "<svg" in page
    assert "Not recorded for this session" in page and "1970-01-01 00:00 UTC" in page


def _with(record: object, **extra: object) -> SimpleNamespace:
    """A stored record with the fields a newer greentui adds (provenance, contention), as after that merge."""
    fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}  # type: ignore[arg-type]
    return SimpleNamespace(**(fields | extra))


def test_provenance_and_contention_fields_of_newer_sessions_are_read(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "g.db")
    writer = store.writer()
    for event in LiveSession("s-new", n_items=4).events():
        writer.handle(event)
    writer.close()
    stored = store.load_session("s-new")
    assert stored.session.idle is not None
    newer = SimpleNamespace(
        session=_with(
            stored.session,
            contended_windows=3,
            measurement_method="NVML energy counter",
            idle=_with(stored.session.idle, contention_share=0.31, contended=True),
        ),
        runs={side: _with(run, provenance=f"from Q4_1 GGUF ({side})") for side, run in stored.runs.items()},
        verdict=None,
    )
    lines = provenance_lines(newer, None)
    assert "Measurement method: NVML energy counter" in lines
    assert any(line.startswith("Model A (") and line.endswith("from Q4_1 GGUF (A)") for line in lines)
    assert any("31 % of CPU time went to other programs" in line and "machine busy" in line for line in lines)
    items = [_with(i, contended=i.index < 2) for i in stored.items]
    assert contention_lines(newer, items) == ["4 of 8 item windows were contended (other programs used the machine)"]
    note = SimpleNamespace(contention_note="Machine busy: 4 of 8 windows contended (31 % of CPU to others)")
    assert contention_lines(newer, items, note)[0].startswith("Machine busy")  # type: ignore[arg-type]
    quiet = [_with(i, contended=False) for i in stored.items]
    assert contention_lines(newer, quiet) == [
        "None of the 8 item windows was contended: other programs stayed under the threshold."
    ]
