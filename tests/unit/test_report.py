"""greentui/text/report.py: the rich verdict and the markdown export, including untrusted model names."""

from __future__ import annotations

import pytest
from rich.console import Console

from greentui.core.records import GridIntensity
from greentui.core.verdict.compute import SideInput, Verdict, compute_verdict
from greentui.text.report import comparison_rows, md_escape, render_verdict, session_markdown
from tests.helpers.timezone import PARIS, local_zone
from tests.unit.test_verdict import binary, make_items

GRID = GridIntensity(g_per_kwh=56.0, source="codecarbon data: FRA", country_iso3="FRA")
SESSION = {
    "id": "8f3a2c",
    "task_id": "sentiment",
    "task_name": "Sentiment",
    "started_unix_s": 1_790_000_000.0,
    "status": "completed",
    "model_a": "smollm2-135m@fp32",
    "model_b": "smollm2-135m@nf4",
    "power_note": "estimated (no RAPL, no GPU)",
    "power_quality": "estimated",
    "grid_g_per_kwh": 56.0,
    "grid_source": "codecarbon data: FRA",
    "schedule": "alternate",
}
RUNS = [
    {
        "side": "A",
        "spec": "smollm2-135m@fp32",
        "display_name": "smollm2-135m",
        "params_total": 134_515_008,
        "params_trainable": 134_515_008,
        "quant": "none",
        "device": "cpu",
        "load_s": 3.21,
    },
    {
        "side": "B",
        "spec": "smollm2-135m@nf4",
        "display_name": "smollm2-135m",
        "params_total": 134_515_008,
        "params_trainable": 134_515_008,
        "quant": "nf4",
        "device": "cpu",
        "load_s": 4.0,
    },
]


def make_verdict(
    name_a: str = "smollm2-135m@fp32",
    name_b: str = "smollm2-135m@nf4",
    *,
    quality: str = "estimated",
    b_failed: bool = False,
) -> Verdict:
    a = SideInput(
        "A", "smollm2-135m@fp32", name_a, 134_515_008, 134_515_008, False, "none", make_items("A", binary(36, 40), 20.0)
    )
    b = SideInput(
        "B",
        "smollm2-135m@nf4",
        name_b,
        134_515_008,
        134_515_008,
        False,
        "nf4",
        () if b_failed else make_items("B", binary(20, 40), 10.0),
        failed_reason="out of memory" if b_failed else None,
    )
    return compute_verdict(
        a,
        b,
        task_name="sentiment",
        metric="accuracy",
        baseline_s0=0.5,
        continuous=False,
        grid=GRID,
        idle_power_w=None,
        energy_quality=quality,  # type: ignore[arg-type]
        energy_source="estimated (no RAPL, no GPU)",
    )


def rendered(renderable: object, width: int = 160) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_render_verdict_shows_sentence_table_cegi_and_scale_in_order() -> None:
    stored = Verdict.from_dict(make_verdict().to_dict())  # as the history screen gets it from the store
    text = rendered(render_verdict(stored))
    flat = " ".join(text.split())
    sentence_at = flat.index("A (smollm2-135m@fp32) scores higher on accuracy than B (smollm2-135m@nf4) by 40.0 points")
    table_at = flat.index("J / correct answer")
    cegi_at = flat.index("CEGI (head-to-head mode)")
    scale_at = flat.index("At 1 million answers a day")
    assert sentence_at < table_at < cegi_at < scale_at
    assert "lower is better" in flat and "E / (G × P)" in flat
    assert (
        "800 J · 222 mWh est." in flat and "400 J · 111 mWh est." in flat
    )  # 40 x 20 J and 40 x 10 J, in J and Wh, marked as estimates
    assert "134.5 M (4-bit)" in flat and "the ranking holds" in flat


def test_measured_energy_carries_no_estimate_mark() -> None:
    text = rendered(render_verdict(make_verdict(quality="measured")))
    assert "est." not in text and "800 J" in text


def test_rich_markup_in_model_names_renders_literally() -> None:
    verdict = make_verdict(name_a="[bold red]x[/]", name_b="[/]oops[link=http://e.vil]")
    text = rendered(render_verdict(verdict), width=220)
    assert "A ([bold red]x[/]) scores higher on accuracy than B ([/]oops[link=http://e.vil])" in text  # the sentence
    header = [line for line in text.splitlines() if "│" not in line and "A ([bold red]x[/])" in line]
    assert len(header) == 1 and "B ([/]oops[link=http://e.vil])" in header[0]  # the table's column titles


def test_failed_side_renders_with_its_reason() -> None:
    verdict = make_verdict(b_failed=True)
    text = rendered(render_verdict(verdict))
    assert "No comparison: B (smollm2-135m@nf4) has no results (out of memory)." in " ".join(text.split())
    rows = {row[0]: row for row in comparison_rows(verdict)}
    assert rows["failed"][2] == "out of memory" and rows["accuracy (95% CI)"][2] == "—"


def test_session_markdown_has_header_table_sentence_cegi_and_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    verdict = make_verdict()
    with local_zone(monkeypatch, PARIS):
        md = session_markdown(SESSION, RUNS, None, verdict)
    assert md.startswith("# greentui report: Sentiment\n")
    assert "- **Date:** 2026-09-21 16:13 CEST\n" in md  # 14:13 UTC, in the reader's local time, the zone named
    assert "- **Power:** estimated (no RAPL, no GPU) (quality: estimated)" in md
    assert "- **Grid intensity:** 56 g CO2e/kWh (source: codecarbon data: FRA)" in md
    assert "|  | A (smollm2-135m@fp32) | B (smollm2-135m@nf4) |" in md
    assert "| J / correct answer | 22.2 J est. | 20.0 J est. |" in md  # 800 J / 36 and 400 J / 20
    assert "| B | smollm2-135m | smollm2-135m@nf4 | 134.5 M | 134.5 M | nf4 | cpu | 4.00 s |" in md
    assert f"**{verdict.sentence}**" in md
    assert "## CEGI" in md and "lower is better" in md and "## At scale" in md


def test_markdown_escapes_untrusted_names_and_keeps_table_columns() -> None:
    verdict = make_verdict(name_a="evil | *bold* <b>", name_b="ok")
    md = session_markdown(SESSION, RUNS, None, verdict)
    header = next(line for line in md.splitlines() if line.startswith("|  | A ("))
    assert header == r"|  | A (evil \| \*bold\* \<b\>) | B (ok) |"
    assert md_escape("a\nb [x](y)") == r"a b \[x\](y)"


def test_markdown_without_a_verdict_uses_the_items_summary() -> None:
    summary = {
        "A": {"items_done": 10, "correct": 7, "score_sum": 7.0, "energy_j": 1500.0, "tokens_out": 200},
        "B": {"items_done": 0, "correct": 0, "score_sum": 0.0, "energy_j": None, "tokens_out": 0},
    }
    md = session_markdown({**SESSION, "status": "interrupted"}, RUNS, summary, None)
    assert "| A | 10 | 7 | 70.0% | 1.50 kJ | 200 |" in md
    assert "| B | 0 | 0 | — | — | 0 |" in md
    assert "No verdict" in md
    as_rows = session_markdown(SESSION, [], [{"side": "A", "items": 3, "correct": 1, "score_sum": 1.0}], None)
    assert "| A | 3 | 1 | 33.3% |" in as_rows
