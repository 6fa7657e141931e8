"""Does a served model's server answer? One quick ``GET /models``, for the setup screen and ``greentui models``.

Nothing is generated and nothing is measured: the probe says whether the address answers, whether it accepts the
key, and whether it lists the model. Loopback addresses only are probed on their own initiative (the usual local
servers on their default ports, :func:`served_rows`); an address the user typed is probed because they typed it.
httpx is imported inside the functions (see :mod:`.served`: importing httpx loads rich).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from greentui.core.models.endpoint import SHORT_FORMS, Endpoint

if TYPE_CHECKING:
    import httpx

PROBE_TIMEOUT_S = 2.0
LISTING_TIMEOUT_S = 0.5  # loopback: a server that is there answers in milliseconds


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """``answers``: the server replied at all; ``ready``: it replied, accepted the key and did not refuse the model.
    ``line`` says it in words ("answers: serves smol (2 models)", "does not answer: connection refused")."""

    answers: bool
    ready: bool
    line: str
    models: tuple[str, ...] = ()


def probe_endpoint(
    endpoint: Endpoint, *, timeout_s: float = PROBE_TIMEOUT_S, transport: httpx.BaseTransport | None = None
) -> ProbeResult:
    """Ask ``endpoint`` for its models; never raises."""
    import httpx

    headers = {}
    if endpoint.key_env:
        key = os.environ.get(endpoint.key_env)
        if not key:
            return ProbeResult(False, False, f"not asked: the API key variable {endpoint.key_env} is not set")
        headers["Authorization"] = f"Bearer {key}"
    try:
        with httpx.Client(timeout=timeout_s, transport=transport, trust_env=False, headers=headers) as client:
            response = client.get(endpoint.base_url + "/models")
    except httpx.ConnectError as exc:
        refused = "refused" in str(exc).lower() or "errno 111" in str(exc).lower()
        return ProbeResult(
            False, False, "does not answer: connection refused" if refused else f"does not answer: {exc}"
        )
    except httpx.TimeoutException:
        return ProbeResult(False, False, f"does not answer within {timeout_s:g} s")
    except httpx.HTTPError as exc:
        return ProbeResult(False, False, f"does not answer: {type(exc).__name__}")
    if response.status_code in (401, 403):
        hint = f"check {endpoint.key_env}" if endpoint.key_env else "add key_env=VAR"
        return ProbeResult(True, False, f"answers, but refuses the key (HTTP {response.status_code}): {hint}")
    if response.status_code == 404:
        return ProbeResult(True, True, "answers, but lists no models here (no /models route); the race will tell")
    if response.status_code != 200:
        return ProbeResult(True, False, f"answers with HTTP {response.status_code}")
    models = _model_ids(response)
    if endpoint.model in models:
        return ProbeResult(True, True, f"answers: serves {endpoint.model} ({_count(models)})", models)
    listed = ", ".join(models[:3]) + (", ..." if len(models) > 3 else "")
    return ProbeResult(
        True,
        True,  # some servers list only loaded models and load others on the first request
        f"answers, but does not list {endpoint.model} ({_count(models)}{': ' + listed if models else ''})",
        models,
    )


def _model_ids(response: Any) -> tuple[str, ...]:
    try:
        data = response.json().get("data") or []
    except (ValueError, AttributeError):
        return ()
    return tuple(str(entry["id"]) for entry in data if isinstance(entry, dict) and "id" in entry)


def _count(models: tuple[str, ...]) -> str:
    return f"{len(models)} model{'' if len(models) == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class ServedRow:
    """One line of the served part of ``greentui models``: a spec to type, and whether its server is here."""

    spec: str
    model: str
    status: str  # "served here" | "no server here"
    note: str


def served_rows(*, timeout_s: float = LISTING_TIMEOUT_S) -> list[ServedRow]:
    """The usual local servers on their default loopback ports: each model a server there lists, or a template
    line saying no server answers. Then the general form."""
    from greentui.core.models.endpoint import parse_endpoint

    rows: list[ServedRow] = []
    seen: dict[str, ProbeResult] = {}
    for short, (base_url, what) in SHORT_FORMS.items():
        endpoint = parse_endpoint(f"openai:{base_url}?model=NAME")
        first = base_url not in seen
        result = seen[base_url] = seen[base_url] if not first else probe_endpoint(endpoint, timeout_s=timeout_s)
        if result.models:  # two short forms may share a port (vLLM and transformers serve: 8000): list it once
            if first:
                for model in result.models:
                    spec = Endpoint(base_url, model).text
                    rows.append(ServedRow(spec, model, "served here", f"listed by the server on {endpoint.address}"))
            continue
        rows.append(ServedRow(f"{short}:NAME", what, "no server here", f"{what} on {endpoint.address}: {result.line}"))
    rows.append(
        ServedRow(
            "openai:http://HOST:PORT/v1?model=NAME",
            "any OpenAI-compatible server",
            "",
            "any OpenAI-compatible server; options: &key_env=VAR (API key from the environment), &params=1.5B, &pid=N, &tokenizer=PATH, "
            "&timeout=S; energy is measured only for a server on this host",
        )
    )
    return rows
