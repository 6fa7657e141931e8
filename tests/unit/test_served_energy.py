"""Whose energy a served lane's windows hold: its server's processes and GPUs here, or "not measured here"."""

from __future__ import annotations

from greentui.core.measure.served_energy import NOT_MEASURED_PREFIX, ServedEnergy, is_not_measured
from greentui.core.measure.server_process import ServerLocation
from greentui.core.models.spec import ModelSpec
from greentui.core.records import Measurement

IN_PROCESS = ModelSpec.parse("fake:oracle")
LOCAL = ModelSpec.parse("openai:http://127.0.0.1:8000/v1?model=m")
REMOTE = ModelSpec.parse("openai:http://gpu-box.example:8000/v1?model=m")
PINNED = ModelSpec.parse("openai:http://127.0.0.1:8000/v1?model=m&pid=4242")
WINDOW = Measurement("A:1", 10.0, 12.0, 30.0, "nvml", "measured", "counter", False, (("gpu1", 30.0),))


class FakeLocate:
    """Stands for locate_server: answers from a table, counts its calls."""

    def __init__(self, answers: list[ServerLocation]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int, int | None]] = []

    def __call__(self, host: str, port: int, *, pid: int | None = None) -> ServerLocation:
        self.calls.append((host, port, pid))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


def here(
    *, pids: tuple[int, ...] = (900,), gpus: tuple[int, ...] = (), how: str = "listening on port 8000"
) -> ServerLocation:
    return ServerLocation("127.0.0.1:8000", True, pids, gpus, how)


ELSEWHERE = ServerLocation(
    "gpu-box.example:8000",
    False,
    not_measured=f"{NOT_MEASURED_PREFIX}: the server gpu-box.example:8000 runs on another host",
)


def test_in_process_lanes_are_left_alone() -> None:
    locate = FakeLocate([here()])
    served = ServedEnergy.locate({"A": IN_PROCESS, "B": IN_PROCESS}, locate=locate)
    assert locate.calls == [] and served.settings() == {}
    assert served.gpu_indices([0]) == [0]
    assert served.pids({"A": 11, "B": 12}) == [11, 12]
    assert served.item_measurement("A", WINDOW) is WINDOW


def test_a_local_server_is_measured_on_its_gpus_with_its_own_processes() -> None:
    locate = FakeLocate([here(pids=(900, 901), gpus=(1,))])
    served = ServedEnergy.locate({"A": LOCAL, "B": IN_PROCESS}, locate=locate)
    assert locate.calls == [("127.0.0.1", 8000, None)]
    # GPU 1 where NVML lists the server, GPU 0 for the in-process model: not "GPU 0" for the served spec
    assert served.gpu_indices([0]) == [0, 1]
    # the server's processes instead of greentui's worker (which only relays HTTP)
    assert served.pids_by_side({"A": 11, "B": 12}) == {"A": [900, 901], "B": [12]}
    assert served.pids({"A": 11, "B": None}) == [900, 901]
    assert served.item_measurement("A", WINDOW) == WINDOW
    assert served.note("A") is None
    assert served.settings()["A"] == {
        "address": "127.0.0.1:8000",
        "local": True,
        "pids": [900, 901],
        "gpu_indices": [1],
        "how_found": "listening on port 8000",
        "not_measured": None,
    }


def test_a_remote_server_gets_no_joules_and_one_line_why() -> None:
    served = ServedEnergy.locate({"A": IN_PROCESS, "B": REMOTE}, locate=FakeLocate([ELSEWHERE]))
    assert served.gpu_indices([]) == []  # no GPU of this machine stands for the remote server
    assert served.pids({"A": 11, "B": 12}) == [11]  # nor does greentui's worker process
    window = served.item_measurement("B", WINDOW)
    assert window.joules is None and window.per_device_j == () and window.method == "none"
    assert window.source == ELSEWHERE.not_measured and is_not_measured(window.source)
    assert (window.start_mono_s, window.end_mono_s) == (WINDOW.start_mono_s, WINDOW.end_mono_s)
    assert served.note("B") == ELSEWHERE.not_measured and served.note("A") is None
    assert served.settings()["B"]["local"] is False


def test_the_spec_pid_is_passed_on_and_looked_up_again_the_same_way() -> None:
    locate = FakeLocate([here(pids=(4242,), how="pid given in the spec")])
    served = ServedEnergy.locate({"A": PINNED, "B": IN_PROCESS}, locate=locate)
    served.gpu_indices([])
    served.item_measurement("A", WINDOW)
    assert locate.calls == [("127.0.0.1", 8000, 4242), ("127.0.0.1", 8000, 4242)]


def test_a_server_found_on_an_unmeasured_gpu_after_its_warm_up_is_not_measured_here() -> None:
    # Ollama starts its runner (and takes a GPU) at the first request: after the session chose what to measure
    locate = FakeLocate([here(gpus=()), here(gpus=(2,))])
    served = ServedEnergy.locate({"A": LOCAL, "B": IN_PROCESS}, locate=locate)
    assert served.gpu_indices([0]) == [0]
    first = served.item_measurement("A", WINDOW)
    assert first.joules is None and "started using GPU 2" in first.source and is_not_measured(first.source)
    assert served.item_measurement("A", WINDOW).joules is None  # every later item of the lane too
    assert len(locate.calls) == 2  # looked up again once, not per item


def test_a_server_on_a_measured_gpu_stays_measured_and_is_checked_once() -> None:
    locate = FakeLocate([here(gpus=(0,)), here(gpus=(0,))])
    served = ServedEnergy.locate({"A": LOCAL, "B": IN_PROCESS}, locate=locate)
    served.gpu_indices([])
    for _ in range(3):
        assert served.item_measurement("A", WINDOW) == WINDOW
    assert len(locate.calls) == 2


def test_a_failing_second_look_keeps_what_was_found() -> None:
    answers = [here(gpus=(0,))]

    def locate(host: str, port: int, *, pid: int | None = None) -> ServerLocation:
        if answers:
            return answers.pop()
        raise OSError("psutil went away")

    served = ServedEnergy.locate({"A": LOCAL, "B": IN_PROCESS}, locate=locate)
    served.gpu_indices([])
    assert served.item_measurement("A", WINDOW) == WINDOW
