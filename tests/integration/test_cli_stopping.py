"""Stopping when settled from the command line: the flags, their one-line refusals, a headless run that stops, what
`greentui show` says of it, the demo's configurations and its up-front estimate, and the sweep file's options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from greentui import cli, demo
from greentui.cli.running import config_from_args, demo_config_from_args
from greentui.core.run.sweep import SweepError, expand, load_sweep, parse_sweep
from greentui.store import SessionStore
from greentui.store.sweeps import sweep_board
from greentui.sweeps.driver import run_sweep
from greentui.sweeps.local import LocalExecutor
from tests.helpers.sweeps import write_sweep

WRONG = "fake:never?tps=2000&tokens=4&accuracy=0"
RIGHT = "fake:always?tps=2000&tokens=4&accuracy=1"


def greentui(*args: str, db: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"GREENTUI_DB": str(db), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "greentui", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_the_flags_reach_the_session_config() -> None:
    run = ["run", "--model-a", "a", "--model-b", "b", "--task", "arithmetic", "--stop-when-settled"]
    args = cli.build_parser().parse_args(
        [*run, "--alpha", "0.1", "--margin", "3", "--max-items", "40", "--order-seed", "9"]
    )
    config = config_from_args(args)
    assert config.stop_when_settled and config.alpha == 0.1 and config.delta == pytest.approx(0.03)
    assert (config.max_items, config.order_seed) == (40, 9)
    plain = config_from_args(
        cli.build_parser().parse_args(["run", "--model-a", "a", "--model-b", "b", "--task", "arithmetic"])
    )
    assert not plain.stop_when_settled and plain.order_seed is None and plain.max_items is None
    assert (plain.alpha, plain.delta) == (0.05, 0.05)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--alpha", "0"], "--alpha: must be more than 0"),
        (["--alpha", "1.5"], "alpha must be between 0 and 1"),
        (["--margin", "150"], "the equivalence margin must be between 0 and 100 points"),
        (["--max-items", "0"], "--max-items: must be at least 1"),
        (["--schedule", "sequential"], "needs schedule alternate"),
    ],
)
def test_bad_stopping_options_end_in_one_line(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--db", str(tmp_path / "g.db"), "run", "--model-a", WRONG, "--model-b", RIGHT, "--task", "arithmetic"]
    try:  # argparse refuses what it can parse alone (SystemExit); the session refuses the rest before any work
        code = cli.main([*argv, "--stop-when-settled", "--headless", "--idle-seconds", "0", *extra])
    except SystemExit as exc:
        code = exc.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_a_headless_run_stops_when_settled_and_show_says_when_and_why(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    done = greentui(
        "run",
        "--model-a",
        WRONG,
        "--model-b",
        RIGHT,
        "--task",
        "arithmetic",
        "--stop-when-settled",
        "--max-items",
        "60",
        "--order-seed",
        "4",
        "--idle-seconds",
        "0",
        "--headless",
        db=db,
    )
    assert done.returncode == 0, done.stderr
    checks = [line for line in done.stdout.splitlines() if line.strip().startswith("= ")]
    assert checks and "not yet settled" in checks[0] and "settled" in checks[-1]
    assert "accuracy B − A" in checks[0] and "energy B/A" in checks[0]
    assert "settled: stopping after" in done.stdout
    assert "Settled after" in done.stdout and "not run would have cost about" in done.stdout
    session_id = done.stdout.split("(greentui show ")[1].split(")")[0]

    shown = greentui("show", session_id, db=db)
    assert shown.returncode == 0, shown.stderr
    assert "completed (settled: B more accurate after" in shown.stdout
    [line] = [line for line in shown.stdout.splitlines() if "stopped early at" in line]
    assert "after the start, after" in line and "of 60 items" in line
    assert "because the accuracy comparison settled: B more accurate" in line
    assert "(estimate:" in shown.stdout and "seeded random order 4" in shown.stdout


def test_the_demo_races_the_bundled_adapter_with_stopping_on() -> None:
    config = demo_config_from_args(cli.build_parser().parse_args(["demo"]))
    assert (config.model_a, config.model_b) == ("smollm2-135m@fp32", "smollm2-135m@fp32+adapter=lora-arithmetic")
    assert config.task == "arithmetic" and config.stop_when_settled and config.max_items == 60
    assert config.order_seed == demo.DEMO_ORDER_SEED and config.limit is None
    record = demo.training_record()
    if record is not None:  # CEGI fine-tune mode with the shipped training's measured emissions
        assert config.training_emissions_g == pytest.approx(record["emissions_g"])
    assert "LoRA adapter lora-arithmetic" in demo.describe(config)
    capped = demo_config_from_args(cli.build_parser().parse_args(["demo", "--limit", "30"]))
    assert capped.max_items == 30

    quantized = demo_config_from_args(cli.build_parser().parse_args(["demo", "--quantized"]))
    assert quantized.model_b == "smollm2-135m@nf4" and quantized.task == "dialogue-summary"
    assert quantized.limit == 20 and not quantized.stop_when_settled and quantized.training_emissions_g is None
    assert "dequantized to fp32" in demo.describe(quantized) and "nf4" in demo.describe(quantized)


def test_the_demo_estimate_comes_from_the_last_demo_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = demo.demo_config()
    monkeypatch.setattr(demo, "_conversion_needed", lambda: False)
    store = SessionStore(tmp_path / "g.db")
    fresh = demo.expected_duration(config, store)
    assert "CPU probe run now" in fresh.basis and 0 < fresh.typical_s <= fresh.most_s
    assert "estimate from" in fresh.line()

    class Side:
        items_done = 40

    class Row:
        model_a, model_b, n_items = config.model_a, config.model_b, 60
        started_unix_s, ended_unix_s = 1000.0, 1090.0
        a = b = Side()

    monkeypatch.setattr(store, "list_sessions", lambda **kwargs: [Row()])
    last = demo.expected_duration(config, store)
    assert last.typical_s == pytest.approx(90.0) and last.most_s == pytest.approx(90.0 * 60 / 40)
    assert "the last demo here: 1m30s for 40 items a side" in last.basis
    monkeypatch.setattr(demo, "_conversion_needed", lambda: True)
    assert "first-run model conversion" in demo.expected_duration(config, store).basis
    store.close()


def test_a_sweep_file_takes_the_stopping_options_and_the_board_shows_the_outcome(tmp_path: Path) -> None:
    base = 'name = "s"\nreference = "fake:a"\ncandidates = ["fake:b"]\ntasks = ["arithmetic"]\n'
    sweep = parse_sweep(base + "stop_when_settled = true\nalpha = 0.1\ndelta = 0.1\nmax_items = 30\norder_seed = 3\n")
    assert dict(sweep.options) == {
        "stop_when_settled": True,
        "alpha": 0.1,
        "delta": 0.1,
        "max_items": 30,
        "order_seed": 3,
    }
    with pytest.raises(SweepError, match=r"<sweep>:5: delta \(the equivalence margin, a fraction"):
        parse_sweep(base + "delta = 5\n")
    with pytest.raises(SweepError, match="<sweep>:6: stop_when_settled compares"):
        parse_sweep(base + 'schedule = "sequential"\nstop_when_settled = true\n')

    db = tmp_path / "g.db"
    path = write_sweep(tmp_path, limit=40, extra="stop_when_settled = true\norder_seed = 1\n")
    loaded = load_sweep(path)
    store = SessionStore(db)
    try:
        outcome = run_sweep(store, loaded, expand(loaded), LocalExecutor(store, inline_workers=True))
        assert outcome.all_done
        _, rows = sweep_board(store, "two-by-two")
    finally:
        store.close()
    settled = [row.settled for row in rows]
    assert all(isinstance(text, str) and text.startswith(("settled after", "not settled after")) for text in settled)
