from __future__ import annotations

import threading

from greentui.core.run.control import RunControl


def test_stop_wakes_a_paused_loop() -> None:
    control = RunControl()
    control.pause()
    assert control.paused and not control.stop_requested
    waited: list[float] = []
    loop = threading.Thread(target=lambda: waited.append(control.wait_while_paused()))
    loop.start()
    control.request_stop()
    loop.join(5)
    assert not loop.is_alive() and waited and waited[0] >= 0.0
    assert control.stop_requested and not control.paused


def test_not_paused_returns_at_once() -> None:
    control = RunControl()
    assert control.wait_while_paused() == 0.0
    assert control.wait_for_stop(0.0) is False
    control.request_stop()
    assert control.wait_for_stop(10.0) is True
