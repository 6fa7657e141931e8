"""Finding a served model's server: this host or another (no DNS), its process from the listening port, its GPUs."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from greentui.core.measure import server_process
from greentui.core.measure.server_process import is_this_host, listening_pids, locate_server
from greentui.core.models.endpoint import parse_endpoint
from greentui.core.models.served_local import count_parameters_on_disk, local_tokenizer
from tests.helpers.openai_server import CannedServer, start_server


@pytest.fixture()
def server() -> Iterator[CannedServer]:
    canned = start_server()
    yield canned
    canned.shutdown()
    canned.server_close()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "localhost", "::1", "[::1]", socket.gethostname()])
def test_this_host(host: str) -> None:
    assert is_this_host(host)


@pytest.mark.parametrize("host", ["gpu-box.example", "10.255.255.254", "api.openai.com", "localhost.example.com"])
def test_other_hosts_without_any_lookup(host: str) -> None:
    with (
        mock.patch.object(socket, "getaddrinfo", side_effect=AssertionError("no DNS")),
        mock.patch.object(socket, "gethostbyname", side_effect=AssertionError("no DNS")),
    ):
        assert not is_this_host(host)


def test_the_listening_process_is_found_from_the_port(server: CannedServer) -> None:
    pids, why = listening_pids(server.port, "127.0.0.1")
    assert pids == [os.getpid()] and why is None  # the canned server listens from this test's process
    location = locate_server("127.0.0.1", server.port, gpu_processes=dict)
    assert location.measured and location.local and location.pids == (os.getpid(),)
    assert location.how_found == f"listening on port {server.port}" and location.gpu_indices == ()


def test_a_remote_server_is_not_measured_here() -> None:
    with mock.patch.object(server_process, "listening_pids", side_effect=AssertionError("not looked for")):
        location = locate_server("gpu-box.example", 8000)
    assert not location.measured and not location.local
    assert location.not_measured == "energy not measured here: the server gpu-box.example:8000 runs on another host"


def test_a_local_server_whose_process_is_missing_is_not_measured(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening
        location = locate_server("127.0.0.1", port, gpu_processes=dict)
    assert location.local and not location.measured
    assert "the server process on port" in (location.not_measured or "")
    assert "pid=" in (location.not_measured or "")


def test_a_pid_from_the_spec_is_used_and_checked() -> None:
    location = locate_server("127.0.0.1", 1, pid=os.getpid(), gpu_processes=dict)
    assert location.measured and location.pids == (os.getpid(),) and location.how_found == "pid given in the spec"
    gone = locate_server("127.0.0.1", 1, pid=2**22 + 12345, gpu_processes=dict)
    assert not gone.measured and "no process" in (gone.not_measured or "")


def test_gpus_are_those_where_nvml_lists_the_servers_processes(server: CannedServer) -> None:
    me = os.getpid()
    location = locate_server("127.0.0.1", server.port, gpu_processes=lambda: {0: {1, 2}, 1: {me}, 2: {me, 7}})
    assert location.gpu_indices == (1, 2)


def test_nvml_compute_pids_follow_cuda_order() -> None:
    pynvml = pytest.importorskip("pynvml")
    processes = {0: [mock.Mock(pid=11)], 1: [mock.Mock(pid=22), mock.Mock(pid=23)]}
    with (
        mock.patch.object(pynvml, "nvmlInit", autospec=True),
        mock.patch.object(pynvml, "nvmlShutdown", autospec=True),
        mock.patch.object(pynvml, "nvmlDeviceGetCount", autospec=True, return_value=2),
        mock.patch.object(pynvml, "nvmlDeviceGetHandleByIndex", autospec=True, side_effect=lambda i: i),
        mock.patch.object(
            pynvml, "nvmlDeviceGetComputeRunningProcesses", autospec=True, side_effect=lambda h: processes[h]
        ),
    ):
        assert server_process.nvml_compute_pids({"CUDA_VISIBLE_DEVICES": "1,0"}) == {0: {22, 23}, 1: {11}}
        assert server_process.nvml_compute_pids({}) == {0: {11}, 1: {22, 23}}


def test_no_nvml_means_no_gpu_attribution() -> None:
    pynvml = pytest.importorskip("pynvml")
    with mock.patch.object(pynvml, "nvmlInit", autospec=True, side_effect=pynvml.NVMLError(1)):
        assert server_process.nvml_compute_pids() == {}


# ---- what the local disk knows about a served model ------------------------------------------------


def test_parameters_and_tokenizer_of_a_local_folder(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from greentui.core.models.hf import count_parameters
    from tests.helpers.tiny_models import build_tiny_llama

    folder = build_tiny_llama(tmp_path / "tiny")
    endpoint = parse_endpoint(f"openai:http://127.0.0.1:1/v1?model={folder}")
    assert count_parameters_on_disk(endpoint) == count_parameters(AutoModelForCausalLM.from_pretrained(folder))
    assert local_tokenizer(endpoint) == folder
    nowhere = parse_endpoint("openai:http://127.0.0.1:1/v1?model=llama3.2:1b")
    assert count_parameters_on_disk(nowhere) is None and local_tokenizer(nowhere) is None


@pytest.mark.parametrize("forwarder", ["ssh", "docker-proxy", "kubectl"])
def test_a_port_forwarded_elsewhere_is_not_measured_here(server: CannedServer, forwarder: str) -> None:
    # `ssh -L 8000:localhost:8000 gpu-box` listens here for a server there: this machine's power is not its cost
    with mock.patch.object(server_process.psutil.Process, "name", return_value=forwarder):
        location = locate_server("127.0.0.1", server.port, gpu_processes=dict)
    assert location.local and not location.measured and location.pids == ()
    assert f"forwarded by {forwarder} (pid {os.getpid()})" in (location.not_measured or "")
    assert "pid=" in (location.not_measured or "")
    # the spec's pid= says where the server really is: then it is measured
    pinned = locate_server("127.0.0.1", server.port, pid=os.getpid(), gpu_processes=dict)
    assert pinned.measured
