"""Asking a served model's server whether it answers (setup screen, ``greentui models``): loopback only."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from greentui.core.models import endpoint as endpoint_module
from greentui.core.models import served_probe
from greentui.core.models.endpoint import parse_endpoint
from greentui.core.models.served_probe import probe_endpoint, served_rows
from tests.helpers.openai_server import CannedServer, start_server


@pytest.fixture()
def server() -> Iterator[CannedServer]:
    canned = start_server()
    yield canned
    canned.shutdown()
    canned.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_listed_model_is_ready(server: CannedServer) -> None:
    result = probe_endpoint(parse_endpoint(server.spec("ok")))
    assert result.answers and result.ready and result.line.startswith("answers: serves ok (")
    assert "ok" in result.models and "missing" not in result.models


def test_an_unlisted_model_is_said_so(server: CannedServer) -> None:
    result = probe_endpoint(parse_endpoint(server.spec("llama3.2:1b")))
    assert result.answers and result.line.startswith("answers, but does not list llama3.2:1b (")


def test_nobody_there() -> None:
    result = probe_endpoint(parse_endpoint(f"openai:http://127.0.0.1:{free_port()}/v1?model=x"))
    assert not result.answers and not result.ready and result.line == "does not answer: connection refused"


def test_a_refused_key_and_a_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    canned = start_server(key="right")
    try:
        monkeypatch.setenv("GT_PROBE_KEY", "wrong")
        refused = probe_endpoint(parse_endpoint(canned.spec("auth", key_env="GT_PROBE_KEY")))
        assert refused.answers and not refused.ready and "refuses the key (HTTP 401)" in refused.line
        monkeypatch.setenv("GT_PROBE_KEY", "right")
        assert probe_endpoint(parse_endpoint(canned.spec("auth", key_env="GT_PROBE_KEY"))).ready
        monkeypatch.delenv("GT_PROBE_KEY")
        unset = probe_endpoint(parse_endpoint(canned.spec("auth", key_env="GT_PROBE_KEY")))
        assert not unset.answers and "GT_PROBE_KEY is not set" in unset.line
    finally:
        canned.shutdown()
        canned.server_close()


def test_the_listing_shows_what_answers_on_the_default_ports(
    server: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/v1"
    forms = {"ollama": (server.base_url, "Ollama"), "vllm": (nobody, "vLLM"), "transformers": (server.base_url, "t")}
    monkeypatch.setattr(endpoint_module, "SHORT_FORMS", forms)
    monkeypatch.setattr(served_probe, "SHORT_FORMS", forms)
    rows = served_rows()
    here = [row for row in rows if row.status == "served here"]
    assert [row.spec for row in here][:2] == [
        f"openai:{server.base_url}?model=ok",
        f"openai:{server.base_url}?model=ok-no-usage",
    ]
    assert len({row.spec for row in here}) == len(here)  # a port shared by two short forms is listed once
    missing = [row for row in rows if row.status == "no server here"]
    assert [row.spec for row in missing] == ["vllm:NAME"] and "connection refused" in missing[0].note
    assert rows[-1].spec == "openai:http://HOST:PORT/v1?model=NAME"
