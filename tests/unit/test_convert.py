"""The one converter (core/convert.py) and the typed SessionStarted: round trips, old shapes, damaged data."""

from __future__ import annotations

import json

import pytest

from greentui.core.config import SessionConfig, TaskInfo
from greentui.core.convert import ConvertError, from_plain, to_plain
from greentui.core.records import EVENT_TYPES, GridIntensity, PowerSample, PowerSampled, SessionStarted, event_from_dict
from tests.helpers.store_events import LiveSession


def test_every_event_of_a_session_round_trips_through_json() -> None:
    events = list(LiveSession("s-conv", n_items=3).events())
    assert {e.kind for e in events} >= {"session_started", "power_sampled", "item_scored", "session_finished"}
    for event in events:
        assert event_from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_a_journal_line_written_before_the_typed_fields_still_replays() -> None:
    started = next(e for e in LiveSession("s-old", n_items=2).events() if isinstance(e, SessionStarted))
    old = started.to_dict()
    del old["task"], old["config"]
    old["settings"] = started.stored_settings()  # the flat shape every earlier release wrote
    rebuilt = event_from_dict(json.loads(json.dumps(old)))
    assert rebuilt == started
    assert isinstance(rebuilt, SessionStarted) and "task_info" not in rebuilt.settings


def test_old_settings_without_task_info_fall_back_to_the_sessions_columns() -> None:
    task, config, extras = SessionStarted.typed_settings(
        {"limit": "ten", "requests_per_day": None, "host": "box", "alpha": 0.1},
        task_id="arithmetic",
        task_name="Arithmetic",
        model_a="a",
        model_b="b",
    )
    assert task == TaskInfo(id="arithmetic", name="Arithmetic")  # metric "accuracy", baseline 0, binary
    assert (config.model_a, config.model_b, config.task) == ("a", "b", "arithmetic")
    assert config.limit is None and config.requests_per_day == 1e6 and config.alpha == 0.1  # bad values: defaults
    assert extras == {"host": "box"}


def test_from_plain_ignores_unknown_keys_and_names_a_bad_value() -> None:
    sample = PowerSample(1.0, "cpu", 3.5, "estimate", "estimated")
    data = {**to_plain(PowerSampled(sample)), "kind": "power_sampled", "from_the_future": 1}
    assert from_plain(data, PowerSampled) == PowerSampled(sample)
    with pytest.raises(ConvertError, match=r"\$\.sample\.t_mono_s"):
        from_plain({"sample": {**to_plain(sample), "t_mono_s": "soon"}}, PowerSampled)
    with pytest.raises(ValueError):
        event_from_dict({"kind": "no_such_event"})
    assert set(EVENT_TYPES) >= {"session_started", "item_scored"}


def test_session_config_round_trips_and_refuses_a_wrong_type() -> None:
    config = SessionConfig("a", "b", "arithmetic", limit=4, grid_intensity=56.0)
    assert SessionConfig.from_dict(config.to_dict()) == config
    assert SessionConfig.from_dict({**config.to_dict(), "unknown": 1}) == config
    with pytest.raises(ValueError):
        SessionConfig.from_dict({**config.to_dict(), "limit": "four"})
    assert SessionConfig.from_stored({**config.to_dict(), "limit": "four"}).limit is None
    assert to_plain(GridIntensity(56.0, "x")) == {"g_per_kwh": 56.0, "source": "x", "country_iso3": None, "pue": 1.0}
