"""The options of a fake model source, ``fake:NAME?key=value&...`` (tests and demos). Pure parsing.

Checked when a spec is parsed, so a typo fails at once, not in the worker (:mod:`greentui.core.models.fake` reads
them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from greentui.core.models.endpoint import parse_count

FAKE_PREFIX = "fake:"
_FAKE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

# Raises the caller's error for (message, start, end) offsets in the source.
FailFn = Callable[[str, int, int], Exception]

# name -> (kind, meaning)
FAKE_OPTIONS: dict[str, tuple[str, str]] = {
    "tps": ("positive", "tokens per second, real-time pace (default 200)"),
    "accuracy": ("fraction", "share of answers equal to the reference (default 1.0)"),
    "tokens": ("count", "tokens per answer (default: one per word)"),
    "seed": ("int", "seed of the right/wrong draw (default 0)"),
    "load_s": ("seconds", "simulated load time (default 0)"),
    "ttft_s": ("seconds", "time to first token (default 1/tps)"),
    "crash_after": ("int", "raise mid-item after this many items"),
    "oom_after": ("int", "raise MemoryError mid-item after this many items"),
    "exit_after": ("int", "the process exits mid-item after this many items"),
    "fail_load": ("text", "fail the load with this reason"),
    "hang_load": ("bool", "never finish loading (1) to test the load time limit"),
    "params": ("count", "parameters reported, e.g. 135M (default 135M)"),
    "trainable": ("count", "trainable parameters reported (default: params; with an adapter: 1M)"),
}


def check_fake_value(key: str, value: str) -> str | None:
    """None when ``value`` suits the fake option ``key``, else what is wrong."""
    kind = FAKE_OPTIONS[key][0]
    try:
        if kind == "positive" and float(value) > 0:
            return None
        if kind == "fraction" and 0.0 <= float(value) <= 1.0:
            return None
        if kind == "seconds" and float(value) >= 0:
            return None
        if kind == "int" and int(value) >= 0:
            return None
    except ValueError:
        pass
    if kind == "count" and (parse_count(value) or 0) > 0:
        return None
    if kind == "bool" and value.lower() in ("1", "0", "true", "false", "yes", "no"):
        return None
    if kind == "text" and value:
        return None
    wanted = {
        "positive": "a number > 0",
        "fraction": "a number in [0, 1]",
        "seconds": "seconds >= 0",
        "int": "an integer >= 0",
        "count": "a count such as 135M",
        "bool": "1 or 0",
        "text": "some text",
    }
    return f"fake option {key}={value!r} needs {wanted[kind]}"


def parse_fake_options(source: str) -> dict[str, str]:
    """The ``key=value`` options of a ``fake:NAME?...`` source (already validated by :meth:`ModelSpec.parse`)."""
    _, _, query = source.partition("?")
    pairs = [part.partition("=") for part in query.split("&") if part]
    return {key: unquote(value) for key, _, value in pairs}


def check_fake(source: str, fail: FailFn) -> None:
    """Validate a ``fake:`` source; raises what ``fail`` returns for the first bad part."""
    name, _, query = source[len(FAKE_PREFIX) :].partition("?")
    if not _FAKE_NAME_RE.match(name):
        raise fail("a fake model is named fake:NAME (letters, digits, '-', '_')", 0, len(FAKE_PREFIX) + len(name))
    position = len(FAKE_PREFIX) + len(name) + 1
    seen: set[str] = set()
    for part in query.split("&") if query else []:
        key, eq, value = part.partition("=")
        if not eq or key not in FAKE_OPTIONS:
            raise fail(
                f"unknown fake option {part!r}; expected key=value with key in {', '.join(FAKE_OPTIONS)}",
                position,
                position + len(part),
            )
        if key in seen:
            raise fail(f"fake option {key} given twice", position, position + len(part))
        seen.add(key)
        problem = check_fake_value(key, unquote(value))
        if problem:
            raise fail(problem, position, position + len(part))
        position += len(part) + 1
