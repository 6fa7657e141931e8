"""``greentui export ID --format html``: one self-contained page to share a session.

The page holds the verdict sentence, the power trace coloured by the model at work (greentui.text.html_chart),
the per-model figures with their 95% intervals, the CEGI panel, the figures at scale, where every figure came
from (provenance) and how busy the machine was (contention), and every item with both models' outputs.

It needs nothing but itself: the style sheet and the charts (SVG) are inline, there is no script, no font or
image to fetch, and a Content-Security-Policy forbids loading anything at all, so it opens the same offline, in a
mail attachment or years later. Every piece of untrusted text (model output, prompts, references, specs, reasons)
goes through :func:`~greentui.text.html_chart.svg_text`: control and bidi characters become visible escapes
(greentui.untrusted) and markup characters become entities, so ``<script>`` shows as text and never runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from greentui import __version__
from greentui.core.records import IdleMeasured, ItemScored, PowerSample, Side
from greentui.core.verdict.compute import Verdict, cegi_lines, model_label, scale_lines
from greentui.format import (
    DASH,
    est,
    format_cpu_share,
    format_hz,
    format_intensity,
    format_item_score,
    format_joules,
    format_power,
    format_prompt_cache,
    format_seconds,
    format_when,
)
from greentui.text.html_chart import COLOURS, Interval, interval_svg, power_trace_svg, svg_text
from greentui.text.report import comparison_rows

if TYPE_CHECKING:
    from greentui.store import StoredSession

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = (
    (
        f":root {{ color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d0d7de; "
        f"--a: {COLOURS['A']}; --b: {COLOURS['B']}; }}"
    )
    + """
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 28px 24px 40px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 22px; margin: 16px 0; }
h1 { font-size: 24px; margin: 2px 0 4px; } h2 { font-size: 17px; margin: 0 0 10px; } h3 { font-size: 15px; margin: 14px 0 6px; }
.brand { color: #2f7d32; font-weight: 700; letter-spacing: .04em; margin: 0; }
.meta, .caption, .note, footer { color: var(--muted); font-size: 13px; }
.sentence { font-size: 19px; font-weight: 650; margin: 0 0 6px; }
.verdict { border-left: 6px solid #2f7d32; }
.estimated { background: #fff8e6; border: 1px solid #f0d9a0; border-radius: 6px; padding: 6px 10px; margin: 8px 0 0; }
.side-a { color: var(--a); } .side-b { color: var(--b); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
table.figures td:first-child { color: var(--muted); width: 34%; }
table.figures td + td, table.figures th + th { font-variant-numeric: tabular-nums; }
.cegi .formula { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 14px; }
ul { margin: 4px 0; padding-left: 20px; }
svg text { font-family: inherit; fill: var(--ink); } svg .tick { font-size: 11px; fill: var(--muted); }
svg .axis { font-size: 12px; font-weight: 600; } svg .legend { font-size: 12px; } svg .row { font-size: 13px; }
table.items td { font-size: 13px; } table.items td.id { white-space: nowrap; }
pre.out { margin: 0; white-space: pre-wrap; word-break: break-word; max-height: 9em; overflow: auto;
  font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; background: #f6f8fa; padding: 4px 6px; border-radius: 4px; }
.ok { color: #1a7f37; font-weight: 700; } .no { color: #cf222e; font-weight: 700; } .part { color: #9a6700; font-weight: 700; }
details summary { cursor: pointer; color: var(--muted); }
"""
)


# ---- provenance and contention: what the stored session says, whatever greentui version recorded it ----------


def _recorded(key: str, *sources: Mapping[str, Any] | None) -> list[str]:
    """Lines from the first source holding ``key``: a text, a list of texts, or a mapping (one "name: value" line
    per entry). Sessions from a greentui that did not record ``key`` give none."""
    for source in sources:
        value = (source or {}).get(key)
        if value in (None, "", [], {}):
            continue
        if isinstance(value, str):
            return [value]
        if isinstance(value, Mapping):
            return [f"{name}: {v if isinstance(v, str) else json.dumps(v, default=str)}" for name, v in value.items()]
        if isinstance(value, list | tuple):
            return [v if isinstance(v, str) else json.dumps(v, default=str) for v in value]
        return [str(value)]
    return []


def provenance_lines(stored: StoredSession, verdict: Verdict | None) -> list[str]:
    """Where the figures come from: power sources, method and sampling, grid intensity, idle baseline, task
    version, where each model's weights came from, hardware, cross-checks, and any provenance the session recorded
    (``settings``/``measurements``/verdict ``"provenance"``). Fields a newer greentui stores (a run's
    ``provenance``, the session's ``measurement_method``) are read when present."""
    session = stored.session
    measurements, settings = session.measurements or {}, session.settings or {}
    lines = [
        f"Power: {session.power_note or 'no note'} ({session.power_quality}"
        + (f"; {', '.join(session.power_sources)}" if session.power_sources else "")
        + ")"
    ]
    rate = measurements.get("sample_rate_hz") or getattr(session, "sampling_rate_hz", None)
    if rate:
        lines[-1] += f", sampled at {format_hz(float(rate))}"
    method = getattr(session, "measurement_method", None)
    if method:
        lines.append(f"Measurement method: {method}")
    grid = session.grid
    lines.append(f"Grid: {format_intensity(grid.g_per_kwh)} ({grid.source}), PUE {grid.pue:g}")
    lines.append(_idle_line(session.idle))
    task = f"Task: {session.task_name} ({session.task_id})"
    if session.task_version:
        task += f", version {session.task_version[:12]}"
    seed = settings.get("seed")
    prefill = format_prompt_cache(settings)
    lines.append(
        task
        + f", schedule {session.schedule}"
        + (f", seed {seed}" if seed is not None else ", greedy decoding")
        + (f", {prefill}" if prefill else "")
    )
    for side, run in sorted(stored.runs.items()):
        weights = getattr(run, "provenance", None) or (getattr(verdict.side(side), "provenance", "") if verdict else "")
        if weights:
            lines.append(f"Model {side} ({run.display_name or run.spec}): {weights}")
    hardware = [
        _fact(k, v) for k, v in (session.fingerprint or {}).items() if isinstance(v, str | int | float) and v != ""
    ]
    if hardware:
        lines.append("Hardware: " + ", ".join(hardware[:8]))
    from greentui.text.printer import codecarbon_line

    crosscheck = codecarbon_line(measurements)
    if crosscheck:
        lines.append(crosscheck[0].upper() + crosscheck[1:])
    raw_verdict = stored.verdict if isinstance(stored.verdict, Mapping) else None
    lines += _recorded("provenance", measurements, settings, raw_verdict)
    return lines


def _fact(name: str, value: object) -> str:
    """One fingerprint entry in words: ``memory 25.3 GB``, ``cpu model Intel(R) Xeon(R)``."""
    if name.endswith("_bytes") and isinstance(value, int | float):
        return f"{name[: -len('_bytes')].replace('_', ' ')} {value / 1e9:.1f} GB"
    return f"{name.replace('_', ' ')} {value}"


def _idle_line(idle: IdleMeasured | None) -> str:
    if idle is None or not idle.seconds:
        return "Idle baseline: not measured (dynamic energy unavailable)"
    line = f"Idle baseline: {format_power(idle.power_w)} over {format_seconds(idle.seconds)} ({idle.quality}, {idle.source})"
    share = getattr(idle, "contention_share", None)
    if share is not None:
        line += f"; {format_cpu_share(share)} went to other programs"
    if getattr(idle, "contended", False):
        line += " (machine busy: not used, so dynamic energy is not available)"
    return line


def contention_lines(stored: StoredSession, items: Sequence[ItemScored], verdict: Verdict | None = None) -> list[str]:
    """How much other work shared the machine: the verdict's contention note, the session's count of contended
    windows, the items flagged contended, and anything recorded under ``"contention"``; says so plainly when the
    session recorded nothing (an older greentui) and when it recorded a quiet machine."""
    session = stored.session
    raw_verdict = stored.verdict if isinstance(stored.verdict, Mapping) else None
    lines = _recorded("contention", session.measurements, session.settings, raw_verdict)
    note = getattr(verdict, "contention_note", None)
    if note:
        lines.insert(0, note)
    flagged = sum(1 for i in items if getattr(i, "contended", False))
    counted = getattr(session, "contended_windows", None)
    if flagged and not note:
        lines.append(f"{flagged} of {len(items)} item windows were contended (other programs used the machine)")
    if lines:
        return lines
    if counted is not None or any(hasattr(i, "contended") for i in items):
        return [f"None of the {len(items)} item windows was contended: other programs stayed under the threshold."]
    return [
        "Not recorded for this session: the energy of each window is that of the whole device, so other "
        "programs' work during the run would be counted in it."
    ]


# ---- the page --------------------------------------------------------------------------------------------------


def _ul(lines: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{svg_text(line)}</li>" for line in lines) + "</ul>"


def _figures(verdict: Verdict) -> str:
    label_a, label_b = model_label(verdict.a, verdict.b), model_label(verdict.b, verdict.a)
    head = f'<tr><th></th><th class="side-a">{svg_text(label_a)}</th><th class="side-b">{svg_text(label_b)}</th></tr>'
    rows = "".join(
        f"<tr><td>{svg_text(f)}</td><td>{svg_text(a)}</td><td>{svg_text(b)}</td></tr>"
        for f, a, b in comparison_rows(verdict)
    )
    return f'<table class="figures">{head}{rows}</table>'


def _interval_charts(verdict: Verdict) -> str:
    a, b, c = verdict.a, verdict.b, verdict.comparison

    def pct(v: float | None) -> float | None:
        return None if v is None else 100 * v

    scores = interval_svg(
        f"{verdict.metric}, 95% interval",
        [
            Interval(model_label(a, b), pct(a.accuracy), pct(a.accuracy_lo), pct(a.accuracy_hi), COLOURS["A"]),
            Interval(model_label(b, a), pct(b.accuracy), pct(b.accuracy_lo), pct(b.accuracy_hi), COLOURS["B"]),
        ],
        low=0.0,
        high=100.0,
        unit="" if verdict.continuous else "%",
    )
    parts = [scores]
    if c.diff_points is not None:
        reach = max(abs(v) for v in (c.diff_points, c.diff_lo_points or 0, c.diff_hi_points or 0, 5.0))
        parts.append(
            interval_svg(
                f"difference B − A in points, paired over {c.n_paired} items (0: no difference)",
                [Interval("B − A", c.diff_points, c.diff_lo_points, c.diff_hi_points, COLOURS["both"])],
                low=-reach * 1.1,
                high=reach * 1.1,
                reference=0.0,
            )
        )
    if c.energy_ratio is not None:
        top = max(2.0, (c.energy_ratio_hi or c.energy_ratio) * 1.1)
        parts.append(
            interval_svg(
                f"energy of B per item as a share of A's, paired over {c.n_energy_paired} items (1: the same)",
                [Interval("energy B / A", c.energy_ratio, c.energy_ratio_lo, c.energy_ratio_hi, COLOURS["both"])],
                low=0.0,
                high=top,
                reference=1.0,
                digits=2,
            )
        )
    return "\n".join(p for p in parts if p)


def _mark(item: ItemScored | None) -> str:
    if item is None:
        return '<span class="note">not run</span>'
    cls, sign = ("ok", "✓") if item.correct else (("part", "~") if item.score > 0 else ("no", "✗"))
    joules = "" if item.joules is None else f" · {format_joules(item.joules)}{est(item.energy_quality)}"
    busy = " · machine busy" if getattr(item, "contended", False) else ""
    tokens = DASH if item.tokens_out is None else item.tokens_out
    return f'<span class="{cls}">{sign}</span> {format_item_score(item.score)}{joules} · {tokens} tokens{busy}'


def _items_table(items: Sequence[ItemScored]) -> str:
    by_id: dict[str, dict[str, ItemScored]] = {}
    order: list[tuple[int, str]] = []
    for item in items:
        if item.item_id not in by_id:
            order.append((item.index, item.item_id))
        by_id.setdefault(item.item_id, {})[item.side] = item
    rows = []
    for _, item_id in sorted(order):
        pair = by_id[item_id]
        any_item = pair.get("A") or pair.get("B")
        assert any_item is not None
        cells = [
            f'<td class="id">{svg_text(item_id)}<details><summary>prompt, reference</summary>'
            f'<pre class="out">{svg_text(any_item.prompt)}</pre><pre class="out">{svg_text(any_item.reference)}</pre>'
            "</details></td>"
        ]
        for side in ("A", "B"):
            done = pair.get(side)
            output = "" if done is None else f'<pre class="out">{svg_text(done.output)}</pre>'
            cells.append(f"<td>{_mark(done)}{output}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = '<tr><th>item</th><th class="side-a">A output</th><th class="side-b">B output</th></tr>'
    return f'<table class="items">{head}{"".join(rows)}</table>'


def session_html(
    stored: StoredSession,
    samples: Iterable[PowerSample],
    verdict: Verdict | None,
    *,
    generated_unix_s: float | None = None,
) -> str:
    """The whole report page. ``stored``: a :class:`greentui.store.StoredSession`; ``samples``: its power samples
    (any iterable of PowerSample, in time order); ``verdict``: the stored or computed verdict, None without one."""
    session = stored.session
    items = list(stored.items)
    estimated = session.power_quality == "estimated"
    labels: dict[Side, str] = {
        "A": model_label(verdict.a, verdict.b) if verdict else f"A ({session.model_a})",
        "B": model_label(verdict.b, verdict.a) if verdict else f"B ({session.model_b})",
    }
    counts = {side: sum(1 for i in items if i.side == side) for side in ("A", "B")}
    title = f"{session.task_name}: {labels['A']} vs {labels['B']}"
    meta = (
        f"session {session.id} · {session.status}"
        + (f" ({session.status_reason})" if session.status_reason else "")
        + f" · started {format_when(session.started_unix_s)} · {counts['A']} / {counts['B']} of {session.n_items} items done"
    )
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>greentui report: {svg_text(title)}</title>",
        f"<style>{STYLE}</style></head><body><main>",
        f'<header><p class="brand">greentui report</p><h1>{svg_text(title)}</h1><p class="meta">{svg_text(meta)}</p></header>',
    ]
    if verdict is not None:
        note = f'<p class="estimated">{svg_text(verdict.energy_note)}</p>' if verdict.energy_note else ""
        busy = getattr(verdict, "contention_note", None)
        note += f'<p class="estimated">{svg_text(busy)}</p>' if busy else ""
        out.append(
            f'<section class="verdict"><p class="sentence">{svg_text(verdict.sentence)}</p>'
            f"<p>{svg_text(verdict.pareto)}</p>{note}</section>"
        )
    else:
        out.append(
            '<section class="verdict"><p class="sentence">No verdict: no item finished on both sides.</p></section>'
        )
    trace = power_trace_svg(
        samples,
        items,
        origin_mono_s=session.t0_mono_s,
        labels=labels,
        idle_power_w=session.idle.power_w if session.idle is not None and session.idle.seconds > 0 else None,
        estimated=estimated,
    )
    out.append(
        f'<section><h2>Power over time</h2>{trace}<p class="caption">Whole-device power, summed over the sampled '
        "devices; the line takes the colour of the model inside an item window, the shading marks each model's "
        f"windows.{' Every figure derived from it is an estimate: no power sensor was readable.' if estimated else ''}</p></section>"
    )
    if verdict is not None:
        out.append(f"<section><h2>Per-model figures</h2>{_figures(verdict)}{_interval_charts(verdict)}</section>")
        cegi = cegi_lines(verdict)
        out.append(
            f'<section class="cegi"><h2>CEGI</h2><p class="formula">{svg_text(cegi[0])}</p>{_ul(cegi[1:])}</section>'
        )
        out.append(f"<section><h2>At scale</h2>{_ul(scale_lines(verdict))}</section>")
    out.append(
        f"<section><h2>Provenance</h2>{_ul(provenance_lines(stored, verdict))}"
        f"<h3>Contention</h3>{_ul(contention_lines(stored, items, verdict))}</section>"
    )
    if items:
        out.append(f"<section><h2>Items</h2>{_items_table(items)}</section>")
    generated = format_when(generated_unix_s if generated_unix_s is not None else time.time())
    out.append(
        f"<footer>Written by greentui {__version__} on {generated}. One self-contained file: no script, nothing "
        "fetched from the network. Model outputs are shown as text; control characters appear as escapes such as "
        "\\x1b.</footer></main></body></html>"
    )
    return "\n".join(out) + "\n"
