"""The power chart's data: bins, who was active when, the idle baseline, and the bridge that feeds it."""

from __future__ import annotations

import threading

from greentui.core.records import IdleMeasured, ItemScored, ItemStarted, PowerSample, PowerSampled
from greentui.tui.bridge import EventBridge
from greentui.tui.power_trace import PowerTrace
from greentui.tui.widgets.power_chart import nice_ceiling
from tests.tui.fakes import T0, race_events


def sample(t: float, watts: float, device: str = "cpu") -> PowerSampled:
    return PowerSampled(PowerSample(t_mono_s=t, device=device, power_w=watts, source="replay", quality="estimated"))


def test_columns_average_power_and_sum_devices() -> None:
    trace = PowerTrace(bin_s=0.5)
    for t, watts in ((0.0, 10.0), (0.2, 20.0), (1.0, 30.0)):
        trace.apply(sample(t, watts))
    trace.apply(sample(1.1, 5.0, device="gpu0"))
    columns = trace.columns(2, 0.0, 2.0)
    assert [c.power_w for c in columns] == [15.0, 35.0]  # mean of the cpu bin; then cpu 30 W + gpu 5 W
    assert [c.activity for c in columns] == ["idle", "idle"]


def test_missing_power_is_none_not_zero() -> None:
    trace = PowerTrace(bin_s=0.5)
    trace.apply(sample(0.0, 10.0))
    trace.apply(sample(3.0, 10.0))
    columns = trace.columns(3, 0.0, 3.0)
    assert columns[1].power_w is None


def test_activity_follows_item_windows_even_without_item_started() -> None:
    events = race_events(n_items=2)
    stored_order = [e for e in events if not isinstance(e, ItemStarted)]  # as a store replay yields them
    trace = PowerTrace(bin_s=0.05)  # one sample per bin at 20 Hz
    for event in stored_order:
        trace.apply(event)
    scored = [e for e in events if isinstance(e, ItemScored)]
    first = scored[0]
    start_s, end_s = first.started_mono_s - T0, first.ended_mono_s - T0
    (column,) = trace.columns(1, start_s + 0.01, end_s - 0.01)
    assert column.activity == first.side == "A"
    assert column.power_w is not None and column.power_w > 17.0
    (before,) = trace.columns(1, 0.5, 2.0)
    assert before.activity == "idle" and before.power_w == 4.0


def test_baseline_and_origin_come_from_the_session() -> None:
    trace = PowerTrace()
    for event in race_events(n_items=1):
        trace.apply(event)
    assert trace.baseline_w == 4.0
    assert trace.origin_mono_s == T0
    assert trace.duration_s > 3.0


def test_open_window_is_active_until_now() -> None:
    trace = PowerTrace()
    trace.apply(sample(0.0, 4.0))
    trace.apply(ItemStarted(side="B", item_id="x", index=0, prompt="p", t_mono_s=1.0))
    trace.apply(sample(2.0, 15.0))
    columns = trace.columns(4, 0.0, 2.0)
    assert [c.activity for c in columns] == ["idle", "idle", "B", "B"]


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0.0, 0.7, 3.1, 18.9, 21.0, 240.0)] == [1.0, 1.0, 5.0, 20.0, 25.0, 250.0]


def test_idle_measured_sets_the_baseline() -> None:
    trace = PowerTrace()
    trace.apply(IdleMeasured(seconds=2.0, joules=8.0, power_w=4.0, quality="estimated", source="x", t_mono_s=2.0))
    assert trace.baseline_w == 4.0


def test_bridge_keeps_every_event_from_many_threads_in_order_per_thread() -> None:
    bridge = EventBridge()
    per_thread = 2000

    def produce(device: str) -> None:
        for k in range(per_thread):
            bridge.handle(sample(float(k), 1.0, device=device))

    threads = [threading.Thread(target=produce, args=(f"d{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    drained = []
    while any(t.is_alive() for t in threads) or bridge.pending:
        drained += bridge.drain()
    for thread in threads:
        thread.join()
    drained += bridge.drain()
    assert len(drained) == bridge.received == 4 * per_thread
    for i in range(4):
        times = [e.sample.t_mono_s for e in drained if e.sample.device == f"d{i}"]  # type: ignore[attr-defined]
        assert times == sorted(times) and len(times) == per_thread
