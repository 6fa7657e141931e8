"""Renderings of a verdict: a rich renderable for the terminal and a markdown report for the export.

Both read the same :class:`~greentui.core.verdict.compute.Verdict` and the same rows (:func:`comparison_rows`), so the
screen and the exported document cannot disagree. Model names, specs and failure reasons are untrusted text:
in rich they are always :class:`rich.text.Text` (never parsed as markup), in markdown they are escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from greentui.core.records import model_label_with_provenance
from greentui.core.verdict.compute import SideSummary, Verdict, cegi_lines, model_label, scale_lines
from greentui.core.verdict.text import busy_line
from greentui.format import (
    DASH,
    NOT_MEASURED,
    est,
    format_cpu_share,
    format_energy,
    format_grams,
    format_hz,
    format_intensity,
    format_j_per_token,
    format_joules,
    format_params,
    format_percent,
    format_power,
    format_score,
    format_seconds,
    format_tokens_per_s,
    format_when,
)
from greentui.untrusted import escape_controls

_QUANT_BITS = {"nf4": "4-bit", "fp4": "4-bit", "int8": "8-bit", "dynamic-int8": "8-bit dynamic"}


# --------------------------------------------------------------------------------------------------
# Shared rows
# --------------------------------------------------------------------------------------------------


def _score(s: SideSummary, continuous: bool) -> str:
    return format_score(s.accuracy, s.accuracy_lo, s.accuracy_hi, s.n_items, continuous=continuous)


def _params(s: SideSummary) -> str:
    if s.params_total <= 0:
        return DASH
    text = format_params(s.params_total)
    extras = [_QUANT_BITS[s.quant]] if s.quant in _QUANT_BITS else []
    if s.has_adapter:
        extras.append(f"adapter {format_params(s.params_trainable)} trainable")
    return text + (f" ({', '.join(extras)})" if extras else "")


def _pair(a: float | None, b: float | None, fmt: Callable[[float | None], str]) -> str:
    """Two figures of one side (decode · end-to-end, p50 · p95), or one dash when neither is known."""
    return DASH if a is None and b is None else f"{fmt(a)} · {fmt(b)}"


def _tokens(s: SideSummary) -> str:
    """New tokens with where the count came from when that is worth saying (a served model's)."""
    count = DASH if s.tokens_out is None else f"{s.tokens_out:,}"
    how = s.tokens_counted_by
    return count if not how or how == "generated ids" else f"{count} ({how})"


def comparison_rows(verdict: Verdict) -> list[tuple[str, str, str]]:
    """(figure, A, B) rows of the comparison table, as plain text. Energy-derived figures carry "est."."""
    mark = est(verdict.energy_quality)
    a, b = verdict.a, verdict.b

    def energy(
        value: float | None, fmt: Callable[[float | None], str], missing: str = DASH, s: SideSummary | None = None
    ) -> str:
        if value is None and s is not None and s.energy_note and s.energy_j is None:
            return NOT_MEASURED  # a served model measured elsewhere: never 0, never this machine's power
        return missing if value is None else fmt(value) + mark

    def per_correct(s: SideSummary) -> str:
        if s.energy_j is None or not s.n_items:
            return energy(None, format_joules, DASH, s)
        return energy(s.joules_per_correct, format_joules, "no correct answers")

    def dynamic(s: SideSummary) -> str:
        if s.energy_j is not None and verdict.idle_contended:
            return "not available (machine busy during the baseline)"
        return energy(s.dynamic_energy_j, format_joules, DASH if s.energy_j is None else "— (no idle baseline)", s)

    def per_token(s: SideSummary) -> str:
        missing = "not available (no token counts)" if s.energy_j is not None and not s.tokens_out else DASH
        return energy(s.joules_per_token, format_j_per_token, missing, s)

    rows = [
        (f"{verdict.metric} (95% CI)", _score(a, verdict.continuous), _score(b, verdict.continuous)),
        ("items scored", str(a.n_items), str(b.n_items)),
        ("energy (total)", energy(a.energy_j, format_energy, DASH, a), energy(b.energy_j, format_energy, DASH, b)),
        ("energy (dynamic)", dynamic(a), dynamic(b)),
        ("J / token", per_token(a), per_token(b)),
        ("J / correct answer", per_correct(a), per_correct(b)),
        ("CO2e", energy(a.co2e_g, format_grams, DASH, a), energy(b.co2e_g, format_grams, DASH, b)),
        (
            "tokens/s decode · end-to-end (p50)",
            _pair(a.decode_tokens_per_s_p50, a.e2e_tokens_per_s_p50, format_tokens_per_s),
            _pair(b.decode_tokens_per_s_p50, b.e2e_tokens_per_s_p50, format_tokens_per_s),
        ),
        (
            "TTFT p50 · p95",
            _pair(a.ttft_p50_s, a.ttft_p95_s, format_seconds),
            _pair(b.ttft_p50_s, b.ttft_p95_s, format_seconds),
        ),
        ("parameters", _params(a), _params(b)),
    ]
    if a.provenance or b.provenance:  # sessions stored before greentui recorded it have none
        rows.append(("weights", a.provenance or DASH, b.provenance or DASH))
    if any(s.tokens_counted_by not in ("", "generated ids") for s in (a, b)):  # a served model's counts
        rows.append(("tokens out", _tokens(a), _tokens(b)))
    if a.failed_reason or b.failed_reason:
        rows.append(("failed", a.failed_reason or "", b.failed_reason or ""))
    return rows


def _labels(verdict: Verdict) -> tuple[str, str]:
    return model_label(verdict.a, verdict.b), model_label(verdict.b, verdict.a)


# --------------------------------------------------------------------------------------------------
# Terminal
# --------------------------------------------------------------------------------------------------


def render_verdict(verdict: Verdict) -> RenderableType:
    """The verdict as the CLI prints it: the sentence first, the A-vs-B table, the CEGI block, the scale."""
    head = Text(verdict.sentence, style="bold")
    head.append("\n")
    head.append(Text(verdict.pareto))
    if verdict.contention_note:
        head.append("\n")
        head.append(Text(verdict.contention_note, style="bold yellow"))
    if verdict.energy_note:
        head.append("\n")
        head.append(Text(verdict.energy_note, style="yellow" if verdict.energy_quality == "estimated" else ""))
    items = (
        f"{verdict.a.n_items} items each"
        if verdict.a.n_items == verdict.b.n_items
        else f"{verdict.a.n_items} / {verdict.b.n_items} items"
    )
    panel = Panel(head, title=Text(f"Verdict ─ {verdict.task_name}, {items}"), title_align="left")

    label_a, label_b = _labels(verdict)
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column(Text(""), style="dim")
    table.add_column(Text(label_a, style="bold"))
    table.add_column(Text(label_b, style="bold"))
    for figure, value_a, value_b in comparison_rows(verdict):
        table.add_row(Text(figure), Text(value_a), Text(value_b))

    cegi = cegi_lines(verdict)
    cegi_text = Text(cegi[0], style="bold")
    for line in cegi[1:]:
        cegi_text.append("\n  " + line)
    scale_text = Text("\n".join(scale_lines(verdict)))
    if verdict.stopping is None:
        return Group(panel, table, Text(""), cegi_text, scale_text)
    from greentui.core.verdict.stopping import stopping_lines

    lines = stopping_lines(verdict.stopping)
    stopping_text = Text(lines[0], style="bold")
    for line in lines[1:]:
        stopping_text.append("\n  " + line)
    return Group(panel, table, Text(""), stopping_text, cegi_text, scale_text)


# --------------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------------

# Enough to keep untrusted text from becoming emphasis, code, links, HTML or table columns; the rest stays
# readable in the raw file a person pastes.
# An underscore between two letters or digits ("Q4_1", "pass_at_1") can neither open nor close emphasis in
# CommonMark (it is both left- and right-flanking and not next to punctuation), so it stays as written and a
# reader searching the file finds "Q4_1"; every other special is escaped.
_MD_SPECIAL = re.compile(r"[\\`*\[\]<>|~]|(?<![^\W_])_|_(?![^\W_])")


def md_escape(text: object) -> str:
    """Untrusted text made inert in markdown (and safe inside a table cell): one line, specials escaped, control
    and bidi characters written as visible escapes (no byte a terminal acts on)."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), escape_controls(" ".join(str(text).split()), keep=""))


def _md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return lines


def _summary_rows(items_summary: Any) -> list[tuple[str, ...]]:
    """Per-side counts from the store when there is no verdict. Accepts ``{side: {...}}`` or
    ``[{"side": ..., ...}, ...]`` with keys items_done (or items), correct, score_sum, energy_j, tokens_out."""
    if not items_summary:
        return []
    if isinstance(items_summary, Mapping):
        pairs = [(str(side), row) for side, row in items_summary.items()]
    else:
        pairs = [(str(row.get("side", "")), row) for row in items_summary]
    rows: list[tuple[str, ...]] = []
    for side, row in pairs:
        done = row.get("items_done", row.get("items"))
        score_sum = row.get("score_sum")
        mean = format_percent(score_sum / done) if done and score_sum is not None else DASH
        rows.append(
            (
                side,
                DASH if done is None else str(done),
                str(row.get("correct", DASH)),
                mean,
                format_joules(row.get("energy_j")),
                str(row.get("tokens_out", DASH)),
            )
        )
    return rows


def _measurement_facts(session: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The idle baseline, the sampling rate and the energy methods, where the session recorded them."""
    facts = []
    idle = session.get("idle")
    if isinstance(idle, Mapping) and idle.get("seconds"):
        power = idle.get("power_w")
        line = f"{format_power(None if power is None else float(power))} over {format_seconds(float(idle['seconds']))}"
        share = idle.get("contention_share")
        if share is not None:
            line += f", {format_cpu_share(float(share))} went to other programs"
        if idle.get("contended"):
            line += " (machine busy: not used, so dynamic energy is not available)"
        facts.append(("Idle baseline", line))
    rate = session.get("sampling_rate_hz")
    if rate:
        facts.append(("Sampling rate", format_hz(float(rate))))
    if session.get("measurement_method"):
        facts.append(("Measurement method", str(session["measurement_method"])))
    return facts


def _session_busy(session: Mapping[str, Any]) -> str | None:
    """The busy line from the session's own counts (when there is no verdict to carry it)."""
    if not session.get("contended_windows"):
        return None
    share = session.get("other_cpu_share")
    return busy_line(None if share is None else float(share), contended=int(session["contended_windows"]))


def session_markdown(
    session: Mapping[str, Any], runs: Sequence[Mapping[str, Any]], items_summary: Any, verdict: Verdict | None
) -> str:
    """A report a person can paste into a document: header facts, models, comparison, verdict, CEGI, scale.

    ``session``: keys like id, task_id, task_name, started_unix_s, status, model_a, model_b, power_note,
    power_quality, grid_g_per_kwh, grid_source, schedule (missing keys print as "—").
    ``runs``: one dict per side with side, spec, display_name, params_total, params_trainable, quant, device, load_s.
    ``items_summary``: per-side counts (see :func:`_summary_rows`), shown when there is no verdict.
    """

    def get(key: str) -> Any:
        return DASH if session.get(key) in (None, "") else session.get(key)

    task = session.get("task_name") or session.get("task_id") or "session"
    grid = session.get("grid_g_per_kwh")
    lines = [f"# greentui report: {md_escape(task)}", ""]
    facts = [
        ("Session", f"{get('id')} ({get('status')})"),
        ("Date", format_when(None if session.get("started_unix_s") is None else float(session["started_unix_s"]))),
        ("Task", f"{get('task_name')} ({get('task_id')})"),
        ("Model A", get("model_a")),
        ("Model B", get("model_b")),
        ("Schedule", get("schedule")),
        ("Power", f"{get('power_note')} (quality: {get('power_quality')})"),
        ("Grid intensity", f"{format_intensity(None if grid is None else float(grid))} (source: {get('grid_source')})"),
        *_measurement_facts(session),
    ]
    busy = verdict.contention_note if verdict is not None else _session_busy(session)
    if busy:
        facts.append(("Contention", busy))
    lines += [f"- **{name}:** {md_escape(value)}" for name, value in facts]

    if runs:
        lines += ["", "## Models", ""]
        lines += _md_table(
            ("side", "model", "spec", "parameters", "trainable", "quant", "device", "load"),
            [
                (
                    r.get("side", ""),
                    model_label_with_provenance(r.get("display_name") or DASH, r.get("provenance") or ""),
                    r.get("spec") or DASH,
                    format_params(r["params_total"]) if r.get("params_total") else DASH,
                    format_params(r["params_trainable"]) if r.get("params_trainable") else DASH,
                    r.get("quant") or DASH,
                    r.get("device") or DASH,
                    format_seconds(None if r.get("load_s") is None else float(r["load_s"])),
                )
                for r in runs
            ],
        )

    if verdict is None:
        summary = _summary_rows(items_summary)
        if summary:
            lines += ["", "## Items", ""]
            lines += _md_table(("side", "items", "correct", "mean score", "energy", "tokens out"), summary)
        lines += ["", "No verdict: the session has no finished items on both sides."]
        return "\n".join(lines) + "\n"

    label_a, label_b = _labels(verdict)
    lines += ["", "## Comparison", ""]
    lines += _md_table(("", label_a, label_b), comparison_rows(verdict))
    lines += ["", "## Verdict", "", f"**{md_escape(verdict.sentence)}**", "", md_escape(verdict.pareto)]
    if verdict.contention_note:
        lines += ["", f"**{md_escape(verdict.contention_note)}**"]
    if verdict.energy_note:
        lines += ["", f"*{md_escape(verdict.energy_note)}*"]
    if verdict.stopping is not None:
        from greentui.core.verdict.stopping import stopping_lines

        lines += ["", "## Stopping when settled", ""]
        lines += [f"- {md_escape(line)}" for line in stopping_lines(verdict.stopping)]
    cegi = cegi_lines(verdict)
    lines += ["", "## CEGI", "", md_escape(cegi[0]), ""]
    lines += [f"- {md_escape(line)}" for line in cegi[1:]]
    if verdict.scale.withheld:  # one line says what the projection still needs
        lines += ["", md_escape(verdict.scale.withheld)]
    else:
        lines += ["", "## At scale", ""]
        lines += [f"- {md_escape(line)}" for line in scale_lines(verdict)]
    return "\n".join(lines) + "\n"
