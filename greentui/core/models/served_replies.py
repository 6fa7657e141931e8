"""Reading an OpenAI-compatible server's replies: the data of its server-sent events, and its error bodies as one
line. Split from :mod:`greentui.core.models.served` (the served backend), which uses these helpers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from httpx_sse import ServerSentEvent

__all__ = ["error_text", "first_line", "json_or_text", "sse_data"]


def sse_data(events: Iterator[ServerSentEvent]) -> Iterator[str]:
    """The data of each server-sent event (comments and empty keep-alive events are skipped by httpx-sse)."""
    for event in events:
        if event.data:
            yield event.data


def json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def error_text(payload: Any) -> str:
    """The message of an OpenAI-style error body ({"error": {"message": ...}} / {"detail": ...}), one line."""
    value = payload
    for key in ("error", "message", "detail"):
        if isinstance(value, dict) and key in value:
            value = value[key]
    if isinstance(value, dict):
        value = value.get("message") or json.dumps(value)[:200]
    return first_line(value)[:200]


def first_line(value: object) -> str:
    lines = str(value).strip().splitlines()
    return lines[0].strip() if lines else ""
