"""The session engine end to end with fake models (inline workers) and a replayed power trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from greentui.core.records import Event, ItemScored, ItemStarted, RunFailed, SessionFinished, SessionStarted
from greentui.core.run.session import Session, SessionConfig, SessionError

FAST = "fake:oracle?tps=400&accuracy=1&tokens=6"


@pytest.fixture()
def constant_trace(tmp_path: Path) -> Path:
    trace = tmp_path / "const.csv"
    trace.write_text("t_s,power_w\n0,20\n1,20\n")
    return trace


def run(config: SessionConfig, **kwargs) -> tuple[str, list[Event]]:
    session = Session(config, inline_workers=True, **kwargs)
    seen: list[Event] = []
    session.subscribe(seen.append)
    return session.run(), seen


def config(trace: Path, **overrides) -> SessionConfig:
    base = {
        "model_a": FAST,
        "model_b": FAST,
        "task": "arithmetic",
        "limit": 4,
        "idle_s": 0.0,
        "power_source": f"replay:{trace}",
        "sample_hz": 20.0,
    }
    return SessionConfig(**(base | overrides))


def test_completed_session_emits_the_stream_in_order(constant_trace: Path) -> None:
    status, events = run(config(constant_trace))
    assert status == "completed"
    assert isinstance(events[0], SessionStarted) and isinstance(events[-1], SessionFinished)
    order = [f"{e.side}{e.index + 1}" for e in events if isinstance(e, ItemStarted)]
    assert order == ["A1", "B1", "B2", "A2", "A3", "B3", "B4", "A4"]
    scored = [e for e in events if isinstance(e, ItemScored)]
    assert len(scored) == 8 and all(e.score == 1.0 for e in scored)
    assert events[-1].status == "completed"
    assert events[0].task.version and events[0].task.metric
    assert events[0].config.model_a == events[0].model_a and "task_info" not in events[0].settings


def test_item_energy_is_power_times_its_duration(constant_trace: Path) -> None:
    _, events = run(config(constant_trace, limit=3))
    for item in (e for e in events if isinstance(e, ItemScored)):
        assert item.joules == pytest.approx(20.0 * item.seconds, rel=0.01)
        assert item.energy_quality == "estimated" and item.energy_source.startswith("replay")
        assert item.seconds == pytest.approx(item.ended_mono_s - item.started_mono_s)


def test_a_crash_in_one_lane_keeps_the_other_going(constant_trace: Path) -> None:
    status, events = run(config(constant_trace, model_b="fake:oracle?tps=400&tokens=4&crash_after=2"))
    assert status == "failed"
    failed = [e for e in events if isinstance(e, RunFailed)]
    assert len(failed) == 1 and failed[0].side == "B" and "model B" in failed[0].reason
    done = {side: [e for e in events if isinstance(e, ItemScored) and e.side == side] for side in "AB"}
    assert len(done["A"]) == 4 and len(done["B"]) == 2
    assert "model B" in events[-1].reason


def test_stop_on_failure_ends_the_session(constant_trace: Path) -> None:
    status, events = run(
        config(constant_trace, model_b="fake:oracle?tps=400&tokens=4&crash_after=1", stop_on_failure=True)
    )
    assert status == "failed"
    assert len([e for e in events if isinstance(e, ItemScored) and e.side == "A"]) < 4


def test_a_model_that_cannot_load_leaves_the_other_to_finish(constant_trace: Path) -> None:
    """As --stop-on-failure's help says: by default the other model finishes."""
    status, events = run(config(constant_trace, model_a="fake:broken?fail_load=weights-missing"))
    assert status == "failed"
    assert {e.side for e in events if isinstance(e, ItemStarted)} == {"B"}
    assert len([e for e in events if isinstance(e, ItemScored)]) == 4
    assert "model A" in events[-1].reason and "weights-missing" in events[-1].reason


def test_a_model_that_cannot_load_with_stop_on_failure_fails_the_session_at_once(constant_trace: Path) -> None:
    status, events = run(config(constant_trace, model_a="fake:broken?fail_load=weights-missing", stop_on_failure=True))
    assert status == "failed"
    assert not [e for e in events if isinstance(e, ItemStarted)]
    assert "model A" in events[-1].reason and "weights-missing" in events[-1].reason


def test_both_models_failing_to_load_fail_the_session_at_once(constant_trace: Path) -> None:
    broken = "fake:broken?fail_load=weights-missing"
    status, events = run(config(constant_trace, model_a=broken, model_b=broken))
    assert status == "failed" and not [e for e in events if isinstance(e, ItemStarted)]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_new_tokens": 0}, "--max-new-tokens must be at least 1, not 0"),
        ({"max_new_tokens": -1}, "--max-new-tokens must be at least 1, not -1"),
        ({"limit": 0}, "--limit must be at least 1, not 0"),
        ({"pue": 0.5}, "PUE must be 1.0 or more"),
        ({"grid_intensity": -3.0}, "grid intensity must be 0 g/kWh or more"),
    ],
)
def test_impossible_settings_are_refused_before_anything_loads(
    constant_trace: Path, overrides: dict[str, object], message: str
) -> None:
    session = Session(config(constant_trace, **overrides), inline_workers=True)
    with pytest.raises(SessionError, match=message.replace("(", r"\(")):
        session.prepare()


def test_max_new_tokens_is_honoured_exactly(constant_trace: Path) -> None:
    _, events = run(config(constant_trace, max_new_tokens=1, model_a="fake:oracle?tps=400&tokens=50"))
    scored = [e for e in events if isinstance(e, ItemScored) and e.side == "A"]
    assert scored and all(e.tokens_out == 1 and e.output for e in scored)


def test_stop_request_keeps_finished_items(constant_trace: Path) -> None:
    session = Session(config(constant_trace, limit=6), inline_workers=True)
    seen: list[Event] = []

    def stop_after_three(event: Event) -> None:
        seen.append(event)
        if isinstance(event, ItemScored) and sum(isinstance(e, ItemScored) for e in seen) == 3:
            session.request_stop()

    session.subscribe(stop_after_three)
    assert session.run() == "interrupted"
    assert sum(isinstance(e, ItemScored) for e in seen) == 3
    assert seen[-1].status == "interrupted"


def test_skipped_items_are_not_run_again(constant_trace: Path) -> None:
    done = {"A": {"arith-001", "arith-002"}, "B": {"arith-001"}}
    status, events = run(config(constant_trace, limit=3), skip_items=done)
    assert status == "completed"
    ran = {(e.side, e.item_id) for e in events if isinstance(e, ItemScored)}
    assert ran == {("A", "arith-003"), ("B", "arith-002"), ("B", "arith-003")}


def test_idle_baseline_is_measured_before_the_first_item(constant_trace: Path) -> None:
    _, events = run(config(constant_trace, limit=1, idle_s=0.3))
    kinds = [e.kind for e in events if e.kind not in ("power_sampled", "token", "model_loading")]
    assert kinds.index("idle_measured") < kinds.index("item_started")
    idle = next(e for e in events if e.kind == "idle_measured")
    assert idle.power_w == pytest.approx(20.0, rel=0.01) and idle.seconds == pytest.approx(0.3, abs=0.1)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"task": "no-such-task"}, "no-such-task"),
        ({"model_a": "smollm2-135m@fp99"}, "model A"),
        ({"schedule": "parallel"}, "different devices"),
        ({"limit": 0}, "--limit"),
        ({"power_source": "replay:/nonexistent/trace.csv"}, "trace.csv"),
        ({"pue": 0.5}, "PUE"),
    ],
)
def test_bad_configuration_is_one_clear_line(constant_trace: Path, overrides: dict, message: str) -> None:
    session = Session(config(constant_trace, **overrides), inline_workers=True)
    with pytest.raises(SessionError, match=message) as info:
        session.prepare()
        session.run()
    assert "\n" not in str(info.value)


def test_parallel_windows_charge_each_model_its_own_device() -> None:
    from greentui.core.measure.meter import device_joules
    from greentui.core.records import Measurement

    m = Measurement(
        key="k",
        start_mono_s=0.0,
        end_mono_s=1.0,
        joules=330.0,
        source="nvml+rapl",
        quality="measured",
        per_device_j=(("gpu0", 200.0), ("gpu1", 100.0), ("cpu-package-0", 30.0)),
    )
    assert device_joules(m, "cuda:1") == 100.0
    assert device_joules(m, "cuda") == 200.0
    assert device_joules(m, "cpu") == 30.0
    assert device_joules(m, "cuda:3") is None


def test_fixed_length_reaches_every_request(constant_trace: Path) -> None:
    status, events = run(config(constant_trace, limit=2, max_new_tokens=9, fixed_length=True))
    assert status == "completed"
    scored = [e for e in events if isinstance(e, ItemScored)]
    assert len(scored) == 4 and all(e.tokens_out == 9 and e.stop_reason == "max-tokens" for e in scored)
    assert events[0].config.fixed_length is True  # stored with the session: a resume repeats it


def test_cli_fixed_length_flag_sets_the_config() -> None:
    from greentui.cli import build_parser
    from greentui.cli.running import config_from_args

    common = ["run", "--model-a", FAST, "--model-b", FAST, "--task", "arithmetic", "--max-new-tokens", "32"]
    assert config_from_args(build_parser().parse_args([*common, "--fixed-length"])).fixed_length is True
    assert config_from_args(build_parser().parse_args(common)).fixed_length is False


def test_a_code_session_stores_which_sandbox_judged_it(constant_trace: Path) -> None:
    status, events = run(config(constant_trace, task="python-functions", limit=2))
    assert status == "completed"
    sandbox = events[0].settings["sandbox"]
    assert sandbox.startswith(("isolated: ", "limited (", "refused: "))
    scored = [e for e in events if isinstance(e, ItemScored)]
    if not sandbox.startswith("refused"):  # the oracle answers with the reference: it passes through the judge
        assert len(scored) == 4 and all(e.score == 1.0 for e in scored)
    _, other = run(config(constant_trace, limit=1))
    assert "sandbox" not in other[0].settings
