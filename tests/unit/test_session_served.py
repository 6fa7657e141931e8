"""A session with a served lane (the canned loopback server): its energy is its server's or "not measured here",
its token counts say where they came from, and a server that reports no usage does not break the verdict."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from greentui.core.measure import power, server_process
from greentui.core.records import ItemScored, SessionStarted
from greentui.core.run.judge import verdict_from_tally
from greentui.core.run.session import SessionConfig
from greentui.services import SessionRun, open_store
from greentui.store.export import export_json, read_items_csv, write_items_csv
from greentui.text.listing import export_session
from greentui.text.report import comparison_rows
from tests.helpers.openai_server import CannedServer, start_server

FAKE = "fake:oracle?tps=400&accuracy=1&tokens=6@cpu"


@pytest.fixture()
def server() -> Iterator[CannedServer]:
    canned = start_server()
    yield canned
    canned.shutdown()
    canned.server_close()


@pytest.fixture()
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "const.csv"
    path.write_text("t_s,power_w\n0,20\n1,20\n")
    return path


def race(tmp_path: Path, trace: Path, model_a: str, *, limit: int = 5) -> tuple[SessionRun, Any]:
    config = SessionConfig(
        model_a=model_a,
        model_b=FAKE,
        task="arithmetic",
        limit=limit,
        idle_s=0.0,
        power_source=f"replay:{trace}",
        sample_hz=20.0,
    )
    store = open_store(tmp_path / "g.db")
    started: list[SessionStarted] = []
    run = SessionRun(config, store, inline_workers=True)
    run.subscribe(lambda e: started.append(e) if isinstance(e, SessionStarted) else None)
    outcome = run.run()
    run.settings = started[0].settings  # type: ignore[attr-defined]
    return run, outcome


def items(run: SessionRun, side: str) -> list[ItemScored]:
    return run.tally.sides[side].items  # type: ignore[index]


def test_a_remote_server_is_not_measured_here_anywhere(tmp_path: Path, trace: Path, server: CannedServer) -> None:
    # 127.0.0.1 taken for another host: nothing of this machine may stand for that server's energy
    with mock.patch.object(server_process, "is_this_host", return_value=False):
        run, outcome = race(tmp_path, trace, server.spec("ok"))
    assert outcome.status == "completed"
    note = f"energy not measured here: the server 127.0.0.1:{server.port} runs on another host"
    assert run.settings["served_energy"]["A"]["not_measured"] == note  # type: ignore[attr-defined]
    assert [i.joules for i in items(run, "A")] == [None] * 5 and {i.energy_source for i in items(run, "A")} == {note}
    assert all(i.joules for i in items(run, "B"))  # the in-process lane is measured as always
    verdict = outcome.verdict
    assert verdict.a.energy_j is None and verdict.a.co2e_g is None and verdict.a.energy_note == note
    assert verdict.b.energy_j and verdict.comparison.energy_ratio is None
    assert f"A: E{note[1:]}." in (verdict.energy_note or "")
    rows = {figure: (a, b) for figure, a, b in comparison_rows(verdict)}
    for figure in ("energy (total)", "J / token", "J / correct answer", "CO2e"):
        assert rows[figure][0] == "not measured here" and rows[figure][1] != "not measured here"
    assert run.tally.sides["A"].energy_note == note

    store = open_store(tmp_path / "g.db", readonly=True)
    markdown = export_session(store, outcome.session_id, "md")
    assert "not measured here" in markdown and "runs on another host" in markdown
    out = io.StringIO()
    write_items_csv(store, outcome.session_id, out)
    read_back = [i for i in read_items_csv(io.StringIO(out.getvalue())) if i.side == "A"]
    assert [(i.joules, i.energy_source) for i in read_back] == [(None, note)] * 5
    exported = json.loads(export_json(store, outcome.session_id))
    assert exported["session"]["settings"]["served_energy"]["A"]["not_measured"] == note
    assert {i["joules"] for i in exported["items"] if i["side"] == "A"} == {None}


def test_a_local_server_is_measured_on_its_gpus_with_its_processes(
    tmp_path: Path, trace: Path, server: CannedServer
) -> None:
    asked: dict[str, Any] = {}
    select = power.select_power_sources

    def spy(choice: str, **kwargs: Any) -> Any:
        asked.update(kwargs)
        return select(choice, **kwargs)

    with (
        mock.patch.object(server_process, "nvml_compute_pids", return_value={0: {1}, 1: {os.getpid()}}),
        mock.patch.object(power, "select_power_sources", spy),
    ):
        run, outcome = race(tmp_path, trace, server.spec("ok"), limit=3)
    assert outcome.status == "completed"
    where = run.settings["served_energy"]["A"]  # type: ignore[attr-defined]
    assert where["local"] and where["pids"] == [os.getpid()] and where["not_measured"] is None
    assert where["how_found"] == f"listening on port {server.port}"
    # the GPU NVML lists the server's process on, not "GPU 0" for a served spec; the fake lane uses none
    assert asked["gpu_indices"] == [1] and where["gpu_indices"] == [1]
    assert asked["process_pids"]() == [os.getpid()]  # the server's process (this test's), not greentui's worker
    assert all(i.joules for i in items(run, "A")) and run.tally.sides["A"].energy_note is None
    assert {i.tokens_counted_by for i in items(run, "A")} == {"reported by the server"}
    assert {i.tokens_counted_by for i in items(run, "B")} == {"generated ids"}


def test_a_server_without_usage_and_no_tokenizer_completes_with_tokens_not_reported(
    tmp_path: Path, trace: Path, server: CannedServer
) -> None:
    run, outcome = race(tmp_path, trace, server.spec("ok-no-usage"))
    assert outcome.status == "completed"
    a_items = items(run, "A")
    assert len(a_items) == 5 and all(i.tokens_out is None and i.tokens_in is None for i in a_items)
    assert {i.tokens_counted_by for i in a_items} == {"not reported"} and all(i.joules for i in a_items)
    verdict = outcome.verdict
    assert verdict.a.tokens_out is None and verdict.a.joules_per_token is None and verdict.a.energy_j
    assert verdict.a.tokens_counted_by == "not reported" and verdict.b.joules_per_token
    assert "Token counts for A: not reported." in (verdict.energy_note or "")
    rows = {figure: (a, b) for figure, a, b in comparison_rows(verdict)}
    assert rows["J / token"][0] == "not available (no token counts)"
    assert rows["tokens out"] == ("— (not reported)", "30")
    lane = run.tally.sides["A"]
    assert lane.tokens_out is None and lane.joules_per_token is None and lane.tokens_per_s is None

    store = open_store(tmp_path / "g.db", readonly=True)
    stored = store.items(outcome.session_id, "A")
    assert [(i.tokens_out, i.tokens_counted_by) for i in stored] == [(None, "not reported")] * 5
    again = verdict_from_tally(run.tally)
    assert again.a.tokens_out is None
