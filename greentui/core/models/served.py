"""The served backend: a model behind an OpenAI-compatible server, asked by streaming chat completions.

Runs in the model worker like the other backends (the session treats a served lane like any other); it imports
httpx and httpx-sse, never torch. Per request:

* the same chat messages the in-process backend gives its tokenizer's chat template (the server applies its own
  template to them), ``stream: true`` with ``stream_options: {"include_usage": true}``, ``temperature: 0`` for
  greedy decoding (``seed`` for seeded sampling), ``max_tokens`` and the task's stop strings;
* TTFT is the arrival of the first chunk with content; the first and last content chunks time the decode;
* token counts come from the server's ``usage``; without it, from the model's tokenizer when one is available
  locally (:mod:`.hf_tokens`, "counted by greentui"), else they are not reported (None, never 0).

Every failure (connection refused, 401, 404 model, 5xx, timeout, a malformed or cut stream, the server dying
mid-answer) becomes :class:`ServerFailed`, one line that names the endpoint and the reason.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from greentui.core.models.decoding import cut_at_stop
from greentui.core.models.endpoint import Endpoint
from greentui.core.models.protocol import (
    EmitFn,
    Generated,
    GenerateRequest,
    ModelInfo,
    ModelLoadError,
    ProgressFn,
    Token,
)
from greentui.core.models.served_local import count_parameters_on_disk, local_tokenizer
from greentui.core.models.served_replies import error_text, first_line, json_or_text, sse_data
from greentui.core.models.spec import ModelSpec
from greentui.core.records import Prompt

if TYPE_CHECKING:
    import httpx

# httpx is imported inside the functions that use it: its package imports its own command-line tool, which loads
# rich, and merely importing a core module must not load a UI library (tests/unit/test_import_hygiene.py).

CONNECT_TIMEOUT_S = 10.0
# OpenAI's API takes at most four stop sequences; greentui cuts the text at every stop string itself anyway.
MAX_STOP_SEQUENCES = 4
TOKENS_FROM_SERVER = "reported by the server"
TOKENS_COUNTED = "counted by greentui"
TOKENS_NOT_REPORTED = "not reported"
# The warm-up request at load: the server may load the model on its first request (Ollama, transformers serve),
# which must not land in the first item's time and energy.
_WARM_UP_PROMPT = Prompt(({"role": "user", "content": "Say OK."},), "Say OK.")


class ServerFailed(ModelLoadError):
    """A served model's request failed. ``reason`` is one line starting with the endpoint; ``failure`` is
    "server" (or "timeout" when the server stopped answering, "unavailable" when it cannot be reached)."""

    def __init__(self, reason: str, failure: str = "server") -> None:
        super().__init__(reason, failure)


class _NothingReceived(Exception):
    """The connection failed before any byte of the answer: worth one more try on a new connection."""

    def __init__(self, failure: ServerFailed) -> None:
        super().__init__(failure.reason)
        self.failure = failure


@dataclass
class _Stream:
    """What one streamed answer brought."""

    pieces: list[str] = field(default_factory=list)
    chunks: int = 0
    first_mono_s: float | None = None
    last_mono_s: float | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    done: bool = False  # the server ended the stream ("[DONE]" or a finish_reason)
    cancelled: bool = False


class ServedBackend:
    """A model served over HTTP. ``transport`` replaces httpx's network transport (tests)."""

    def __init__(
        self, spec: ModelSpec, cancel: threading.Event | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        endpoint = spec.endpoint
        if endpoint is None:
            raise ValueError(f"{spec} is not a served model")
        self.spec = spec
        self.endpoint: Endpoint = endpoint
        self.cancel = cancel or threading.Event()
        self._transport = transport
        self._client: httpx.Client | None = None
        self._counter: Any = None  # hf_tokens.TokenCounter, when the server reports no usage
        self.reports_usage: bool | None = None

    @property
    def where(self) -> str:
        return f"server {self.endpoint.address}"

    # ---- load: reach the server, check the model, warm it up ------------------------------------------
    def load(self, progress: ProgressFn) -> ModelInfo:
        import httpx

        started = time.monotonic()
        endpoint = self.endpoint
        headers = {"Accept": "text/event-stream, application/json"}
        if endpoint.key_env:
            key = os.environ.get(endpoint.key_env)
            if not key:
                raise ServerFailed(
                    f"{self.where}: the API key variable {endpoint.key_env} (key_env) is not set", "unavailable"
                )
            headers["Authorization"] = f"Bearer {key}"
        # trust_env=False: no proxy from the environment stands between greentui and a server on this host
        self._client = httpx.Client(
            base_url=endpoint.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(endpoint.read_timeout_s, connect=CONNECT_TIMEOUT_S),
            transport=self._transport,
            trust_env=False,
        )
        progress(f"asking {endpoint.address} for its models", 0.2)
        served_params = self._listed_model_params()
        progress(f"warming up {endpoint.model} on {endpoint.address} (one 1-token request)", 0.5)
        warm = self._stream(self._body(GenerateRequest("warm-up", _WARM_UP_PROMPT, 1)), None, "warm-up")
        self.reports_usage = bool(warm.usage)
        if not self.reports_usage:
            folder = local_tokenizer(endpoint)
            if folder is not None:
                progress("the server reports no token usage: loading the tokenizer to count tokens", 0.8)
                from greentui.core.models.hf_tokens import TokenCounter  # transformers: worker side only

                self._counter = TokenCounter(folder)
        params = endpoint.params or served_params or count_parameters_on_disk(endpoint)
        progress("ready", 1.0)
        return ModelInfo(
            display_name=self.spec.display_name,
            params_total=params,
            params_trainable=params,
            weight_bytes=None,
            dtype="as served",
            quant="as served",
            device=endpoint.address,
            load_s=time.monotonic() - started,
            peak_rss_bytes=None,
            peak_cuda_bytes=None,
            provenance=f"served by {endpoint.address}, weights as the server loaded them",
        )

    def _listed_model_params(self) -> int | None:
        """GET /models: fails on an unreachable or refusing server; returns the parameter count when the server
        lists it (llama-server's ``meta.n_params``). A model missing from the list is not an error here: some
        servers list only what they have loaded, and the warm-up request settles it."""
        import httpx

        assert self._client is not None
        try:
            response = self._client.get("models")
        except httpx.HTTPError as exc:
            raise self._transport_failure(exc, _Stream()) from None
        if response.status_code in (401, 403) or response.status_code >= 500:
            raise self._status_failure(response)
        if response.status_code != 200:
            return None  # no /models route: the warm-up request will tell
        try:
            listed = response.json().get("data") or []
        except (ValueError, AttributeError):
            return None
        for entry in listed if isinstance(listed, list) else []:
            if isinstance(entry, dict) and entry.get("id") == self.endpoint.model:
                count = (entry.get("meta") or {}).get("n_params") if isinstance(entry.get("meta"), dict) else None
                return int(count) if isinstance(count, int) and count > 0 else None
        return None

    # ---- generate -------------------------------------------------------------------------------------
    def generate(self, request: GenerateRequest, emit: EmitFn) -> Generated:
        if request.fixed_length:
            raise ServerFailed(
                f"{self.where}: a fixed-length answer cannot be asked of a served model "
                "(the OpenAI API has no minimum length)"
            )
        started = time.monotonic()
        stream = self._stream(self._body(request), emit, request.request_id)
        text, cut = cut_at_stop("".join(stream.pieces), request.stop)
        tokens_in, tokens_out, counted_by = self._token_counts(request, stream, text)
        if stream.cancelled:
            stop_reason = "cancelled"
        elif cut:
            stop_reason = "stop-string"
        elif stream.finish_reason == "length":
            stop_reason = "max-tokens"
        else:
            stop_reason = "eos"
        return Generated(
            request_id=request.request_id,
            text=text,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            started_mono_s=started,
            first_token_mono_s=stream.first_mono_s,
            last_token_mono_s=stream.last_mono_s,
            ended_mono_s=time.monotonic(),
            stop_reason=stop_reason,
            tokens_counted_by=counted_by,
        )

    def _token_counts(self, request: GenerateRequest, stream: _Stream, text: str) -> tuple[int | None, int | None, str]:
        usage = stream.usage or {}
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(completion, int) and completion >= 0:
            return (prompt if isinstance(prompt, int) and prompt >= 0 else None), completion, TOKENS_FROM_SERVER
        if self._counter is not None:
            return self._counter.prompt_tokens(request.prompt.messages), self._counter.text_tokens(text), TOKENS_COUNTED
        return None, None, TOKENS_NOT_REPORTED

    def _body(self, request: GenerateRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": [dict(message) for message in request.prompt.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": request.max_new_tokens,
        }
        if request.seed is None:
            body["temperature"] = 0.0  # greedy: every server named in the docs decodes greedily at temperature 0
        else:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = list(request.stop)[:MAX_STOP_SEQUENCES]
        return body

    def _stream(self, body: dict[str, Any], emit: EmitFn | None, request_id: str) -> _Stream:
        """POST one streaming chat completion and read it to its end; raises :class:`ServerFailed`.

        A kept-alive connection that the server closed meanwhile (it restarted, or died) fails before any byte
        comes back; the request is then sent once more on a fresh connection, which tells a server that is gone
        (connection refused) from one that hangs up."""
        try:
            return self._stream_once(body, emit, request_id)
        except _NothingReceived:
            try:
                return self._stream_once(body, emit, request_id)
            except _NothingReceived as again:
                raise again.failure from None

    def _stream_once(self, body: dict[str, Any], emit: EmitFn | None, request_id: str) -> _Stream:
        import httpx
        from httpx_sse import SSEError, connect_sse

        assert self._client is not None, "generate() before load()"
        stream = _Stream()
        try:
            with connect_sse(self._client, "POST", "chat/completions", json=body) as source:
                if source.response.status_code != 200:
                    source.response.read()
                    raise self._status_failure(source.response)
                for data in sse_data(source.iter_sse()):
                    if self.cancel.is_set():
                        stream.cancelled = True
                        break
                    if self._take(data, stream, emit, request_id):
                        break
        except ServerFailed:
            raise
        except SSEError as exc:
            raise ServerFailed(
                f"{self.where}: the answer is not an event stream ({exc}); is {self.endpoint.base_url} an "
                "OpenAI-compatible /v1 address?"
            ) from None
        except httpx.HTTPError as exc:
            failure = self._transport_failure(exc, stream)
            if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)) and not (stream.chunks or stream.usage):
                raise _NothingReceived(failure) from None
            raise failure from None
        if not (stream.done or stream.cancelled):
            raise ServerFailed(
                f"{self.where}: the stream was cut off after {stream.chunks} chunk(s), with no finish_reason"
            )
        return stream

    def _take(self, data: str, stream: _Stream, emit: EmitFn | None, request_id: str) -> bool:
        """Fold one event's data into ``stream``; True at the end of the stream."""
        now = time.monotonic()
        if data.strip() == "[DONE]":
            stream.done = True
            return True
        try:
            chunk = json.loads(data)
        except ValueError:
            raise ServerFailed(f"{self.where}: malformed stream (an event is not JSON: {data[:60]!r})") from None
        if not isinstance(chunk, dict):
            raise ServerFailed(f"{self.where}: malformed stream (an event is not a JSON object: {data[:60]!r})")
        if chunk.get("error"):
            raise ServerFailed(f"{self.where}: the server reported an error mid-answer: {error_text(chunk)}")
        if isinstance(chunk.get("usage"), dict):
            stream.usage = chunk["usage"]
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            if stream.usage is None:
                raise ServerFailed(f"{self.where}: malformed stream (a chunk has no choices: {data[:60]!r})")
            return False
        for choice in choices:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str) and content:
                stream.chunks += 1
                if stream.first_mono_s is None:
                    stream.first_mono_s = now
                stream.last_mono_s = now
                stream.pieces.append(content)
                if emit is not None:
                    emit(Token(request_id, content, stream.chunks, now))
            if isinstance(choice, dict) and choice.get("finish_reason"):
                stream.finish_reason = str(choice["finish_reason"])
                stream.done = True  # the usage chunk, when there is one, may still follow
        return False

    # ---- failures in one line -----------------------------------------------------------------------
    def _status_failure(self, response: httpx.Response) -> ServerFailed:
        status = response.status_code
        detail = error_text(json_or_text(response))
        if status in (401, 403):
            hint = (
                f"check the key in {self.endpoint.key_env}"
                if self.endpoint.key_env
                else "add key_env=VAR to the spec, VAR holding the key"
            )
            return ServerFailed(f"{self.where}: the API key was refused (HTTP {status}): {hint}")
        if status == 404:
            if "model" in detail.lower():
                return ServerFailed(f"{self.where}: no model {self.endpoint.model!r} there (HTTP 404: {detail})")
            return ServerFailed(
                f"{self.where}: no such route (HTTP 404) under {self.endpoint.base_url}: is the /v1 path right?"
            )
        kind = "server error" if status >= 500 else "request refused"
        return ServerFailed(f"{self.where}: {kind} (HTTP {status}{': ' + detail if detail else ''})")

    def _transport_failure(self, exc: httpx.HTTPError, stream: _Stream) -> ServerFailed:
        import httpx

        if isinstance(exc, httpx.ConnectTimeout):
            return ServerFailed(f"{self.where}: no connection within {CONNECT_TIMEOUT_S:g} s", "unavailable")
        if isinstance(exc, httpx.ConnectError):
            refused = "refused" in str(exc).lower() or "errno 111" in str(exc).lower()
            why = "connection refused (is the server running?)" if refused else f"cannot connect ({first_line(exc)})"
            return ServerFailed(f"{self.where}: {why}", "unavailable")
        if isinstance(exc, httpx.TimeoutException):
            return ServerFailed(
                f"{self.where}: no answer for {self.endpoint.read_timeout_s:g} s (read timeout; set timeout= in the "
                "spec to wait longer)",
                "timeout",
            )
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            if stream.chunks or stream.usage:
                return ServerFailed(
                    f"{self.where}: the connection was lost mid-answer after {stream.chunks} chunk(s) "
                    "(did the server stop?)"
                )
            return ServerFailed(f"{self.where}: the server closed the connection without answering")
        return ServerFailed(f"{self.where}: {type(exc).__name__}: {first_line(exc)}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
