"""Plain values across a process boundary: the only thing the sandboxed solution can hand the judge.

A value crosses as one line of ASCII JSON. Scalars travel as themselves (``None``, ``True``/``False``, ``int``,
finite ``float``, ``str``); every container and every other kind is a one-key object naming its type::

    {"list": [...]}  {"tuple": [...]}  {"set": [...]}  {"frozenset": [...]}  {"dict": [[key, value], ...]}
    {"bytes": "<hex>"}  {"float": "nan" | "inf" | "-inf"}  {"int": "<hex>"}  {"complex": [real, imag]}

(``{"int": ...}`` carries integers of 64 bits and more, so no decimal-digit limit applies.) The encoder accepts
exact built-in types only: a subclass of ``int`` or ``list`` with its own ``__eq__`` is refused, as is any object
of a class the solution defined. The decoder rebuilds fresh built-in values, so whatever the judge compares was
made by the judge: an answer cannot carry code, identity or a custom ``==`` across.

Standard library only: this module also runs inside the sandbox (loaded by path from ``child.py``) and in the
judge (``judge.py``).
"""

from __future__ import annotations

import json
import math
import os

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs every sandboxed item
if TYPE_CHECKING:
    from typing import Any

MAX_DEPTH = 100  # nesting of containers; deeper (or self-containing) values are refused
_SMALL_INT = 1 << 63
_TAGS = ("list", "tuple", "set", "frozenset", "dict", "bytes", "float", "int", "complex")


class NotPlain(ValueError):
    """The value is not plain data; the message names what was found, in a few words."""


class LineTooLong(ValueError):
    """A message longer than the reader allows."""


def to_wire(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready data (see the module docstring); raises :class:`NotPlain`."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if -_SMALL_INT < value < _SMALL_INT else {"int": hex(value)}
    if kind is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if depth >= MAX_DEPTH:
        raise NotPlain(f"nested deeper than {MAX_DEPTH} levels")
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return {kind.__name__: [to_wire(item, depth + 1) for item in value]}
    if kind is dict:
        return {"dict": [[to_wire(k, depth + 1), to_wire(v, depth + 1)] for k, v in value.items()]}
    if kind is bytes or kind is bytearray:
        return {"bytes": bytes(value).hex()}
    if kind is complex:
        return {"complex": [to_wire(value.real), to_wire(value.imag)]}
    raise NotPlain(f"a {_type_name(value)}")


def from_wire(data: Any, depth: int = 0) -> Any:
    """Rebuild a value from :func:`to_wire` data; raises :class:`NotPlain` for anything else."""
    kind = type(data)
    if data is None or kind is bool or kind is str or kind is int:
        return data
    if kind is float:
        if not math.isfinite(data):
            raise NotPlain("a bare non-finite number")
        return data
    if kind is not dict or len(data) != 1 or depth >= MAX_DEPTH:
        raise NotPlain("malformed data" if depth < MAX_DEPTH else f"nested deeper than {MAX_DEPTH} levels")
    ((tag, body),) = data.items()
    if tag not in _TAGS:
        raise NotPlain(f"an unknown tag {str(tag)[:20]!r}")
    try:
        return _untag(tag, body, depth)
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, NotPlain):
            raise
        raise NotPlain(f"malformed {tag}") from None


def _untag(tag: str, body: Any, depth: int) -> Any:
    if tag == "bytes":
        return bytes.fromhex(_expect(body, str))
    if tag == "float":
        if body not in ("nan", "inf", "-inf"):
            raise NotPlain("malformed float")
        return float(body)
    if tag == "int":
        text = _expect(body, str)
        digits = text[3:] if text.startswith("-0x") else text[2:] if text.startswith("0x") else ""
        if not digits or len(digits) > 100_000 or digits.strip("0123456789abcdef"):
            raise NotPlain("malformed int")
        return int(text, 16)
    if tag == "dict":
        pairs = {}
        for pair in _expect(body, list):
            if type(pair) is not list or len(pair) != 2:
                raise NotPlain("malformed dict")
            pairs[from_wire(pair[0], depth + 1)] = from_wire(pair[1], depth + 1)
        return pairs
    items = [from_wire(item, depth + 1) for item in _expect(body, list)]
    if tag == "list":
        return items
    if tag == "tuple":
        return tuple(items)
    if tag == "set":
        return set(items)
    if tag == "frozenset":
        return frozenset(items)
    if len(items) != 2 or not all(type(part) is float for part in items):  # tag == "complex"
        raise NotPlain("malformed complex")
    return complex(items[0], items[1])


def _expect(body: Any, kind: type) -> Any:
    if type(body) is not kind:
        raise NotPlain("malformed data")
    return body


def _type_name(value: Any) -> str:
    """The class name of ``value`` without calling anything the value's class may override."""
    name = type.__dict__["__name__"].__get__(type(value))
    return str(name)[:60]


def dumps(value: Any) -> str:
    """One line of ASCII JSON for ``value``; raises :class:`NotPlain`."""
    return json.dumps(to_wire(value), ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """The value of one :func:`dumps` line; raises :class:`NotPlain` for anything malformed."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise NotPlain("malformed JSON") from None
    return from_wire(data)


def message(obj: dict[str, Any]) -> bytes:
    """A protocol message (a JSON object whose values are already wire data) as one line."""
    return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii") + b"\n"


class LineReader:
    """Reads newline-terminated messages from a file descriptor, at most ``max_bytes`` per line.

    Blocking reads: the process that owns the deadline (greentui) kills the reader when time is up.
    """

    def __init__(self, fd: int, max_bytes: int) -> None:
        self.fd = fd
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self.closed = False

    def read_line(self) -> bytes | None:
        """The next line without its newline; None at end of file; raises :class:`LineTooLong`."""
        while True:
            end = self._buffer.find(b"\n")
            if end > self.max_bytes:
                raise LineTooLong(f"a message longer than {self.max_bytes} bytes")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > self.max_bytes:
                raise LineTooLong(f"a message longer than {self.max_bytes} bytes")
            if self.closed:
                return None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                self.closed = True
                if self._buffer:
                    raise LineTooLong("a message cut off by the end of the stream")
                return None
            self._buffer.extend(chunk)

    def read_message(self) -> dict[str, Any] | None:
        """The next line as a JSON object; None at end of file; raises ValueError when it is not one."""
        line = self.read_line()
        if line is None:
            return None
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            raise ValueError("a message that is not JSON") from None
        if type(obj) is not dict:
            raise ValueError("a message that is not a JSON object")
        return obj


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (pipes may take less per call)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
