"""A small OpenAI-compatible server on 127.0.0.1 that streams canned chunks and injects each failure on request.

The model name a client asks for chooses the behaviour, so a spawned worker needs no shared state with the test:

    ok                 streams the canned answer word by word, then a finish chunk with ``usage``, then [DONE]
    ok-no-usage        the same without ``usage`` (the client must count, or say "not reported")
    auth               like ok, but only with ``Authorization: Bearer <the server's key>``; else HTTP 401
    missing            HTTP 404 {"error": {"message": "model 'missing' not found"}} (also left out of /v1/models)
    error500           HTTP 500 with an error body
    slow               waits ``slow_s`` seconds before answering a generation (not the warm-up)
    malformed          one good chunk, then an event that is not JSON
    cut                two chunks, then the connection closes in the middle of the chunked body
    cut-clean          two chunks, then a clean end of the body with no finish_reason and no [DONE]
    error-event        two chunks, then ``data: {"error": ...}`` (as transformers serve reports a failed generate)
    die-after-N        answers N generations, then on the next one dies mid-answer: closes the socket and stops
                       the whole server, so every later connection is refused

The canned answer is ``The answer is 7.`` unless the server was given another. Warm-up requests (max_tokens 1)
always get one word. Run in a thread (:func:`start_server`) for fast tests, or as a process
(``python -m tests.helpers.openai_server``, prints its port) for a server that a test kills.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = "The answer is 7."
MODELS = ("ok", "ok-no-usage", "auth", "error500", "slow", "malformed", "cut", "cut-clean", "error-event")


class CannedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, answer: str = ANSWER, key: str | None = None, slow_s: float = 5.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.key = key
        self.slow_s = slow_s
        self.generations = 0
        self.requests: list[dict[str, Any]] = []  # every chat request body, in order
        self.lock = threading.Lock()
        self.dead = False
        self.connections: set[socket.socket] = set()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def spec(self, model: str, **options: str) -> str:
        extra = "".join(f"&{key}={value}" for key, value in options.items())
        return f"openai:{self.base_url}?model={model}{extra}"

    def die(self) -> None:
        """Stop listening at once (later connections are refused); the serving thread ends."""
        self.dead = True
        threading.Thread(target=self.shutdown, daemon=True).start()
        self.socket.close()
        with self.lock:
            open_connections = list(self.connections)
        for connection in open_connections:  # a dead process keeps no kept-alive connection either
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CannedServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections.add(self.connection)
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):  # the client hung up (cancelled): nothing to tell
            self.close_connection = True
        finally:
            with self.server.lock:
                self.server.connections.discard(self.connection)

    # ---- helpers ----------------------------------------------------------------------------------
    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, payload: Any) -> None:
        self._chunk(f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n")

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _abort(self) -> None:
        """Close the connection in the middle of the chunked body."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    # ---- routes -------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self._json(404, {"detail": "Not Found"})
            return
        if self.server.key and self.headers.get("Authorization") != f"Bearer {self.server.key}":
            self._json(401, {"error": {"message": "invalid api key"}})
            return
        models = [*MODELS, *(f"die-after-{n}" for n in range(4))]
        self._json(200, {"object": "list", "data": [{"id": name, "object": "model"} for name in models]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"detail": "Not Found"})
            return
        model = str(body.get("model"))
        warm_up = body.get("max_tokens") == 1
        with self.server.lock:
            self.server.requests.append(body)
            if not warm_up:
                self.server.generations += 1
            generation = self.server.generations
        if model == "auth" or self.server.key:
            if self.headers.get("Authorization") != f"Bearer {self.server.key}":
                self._json(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
                return
        if model == "missing" or model not in (*MODELS, *(f"die-after-{n}" for n in range(10))):
            self._json(404, {"error": {"message": f"model '{model}' not found"}})
            return
        if model == "error500":
            self._json(500, {"error": {"message": "CUDA error: an illegal memory access was encountered"}})
            return
        if model == "slow" and not warm_up:
            time.sleep(self.server.slow_s)
        words = self.server.answer.split(" ")
        if warm_up:  # the load's warm-up gets one good word: the failures are for the generations
            words, model = words[:1], ("ok-no-usage" if model == "ok-no-usage" else "ok")
        self._start_stream()
        self._event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        dies = model.startswith("die-after-") and not warm_up and generation > int(model.rsplit("-", 1)[1])
        for index, word in enumerate(words):
            piece = word if index == 0 else f" {word}"
            self._event({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            if index == 1 and (model in ("cut", "cut-clean", "error-event", "malformed") or dies):
                break
        if model == "cut" or dies:
            if dies:
                self.server.die()
            self._abort()
            return
        if model == "cut-clean":
            self._end()
            return
        if model == "malformed":
            self._event("{not json")
            self._end()
            return
        if model == "error-event":
            self._event({"error": "generation failed: index out of range in self"})
            self._end()
            return
        finish: dict[str, Any] = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        if model != "ok-no-usage":
            prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
            finish["usage"] = {"prompt_tokens": prompt, "completion_tokens": len(words) + 1}
        self._event(finish)
        self._event("[DONE]")
        self._end()


def start_server(**kwargs: Any) -> CannedServer:
    """A CannedServer serving from a daemon thread; call ``shutdown()`` and ``server_close()`` when done."""
    server = CannedServer(**kwargs)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


if __name__ == "__main__":  # a server in its own process, for a test that kills it
    canned = CannedServer(answer=sys.argv[1] if len(sys.argv) > 1 else ANSWER)
    print(canned.port, flush=True)
    canned.serve_forever(poll_interval=0.05)
