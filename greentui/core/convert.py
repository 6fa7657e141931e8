"""The one converter between greentui's dataclasses and plain data (dicts, lists, str, numbers, None).

Events go to the store's journal and to sweep workers as plain data, verdicts and session configurations are
stored as JSON, and the exports write records as JSON and CSV. All of them use these two functions, built on
msgspec, so that the nested rebuilding (a verdict's sides and its grid, a power sample inside an event) is done
once, from the type hints, instead of by hand in each record.

``from_plain`` ignores keys the type does not know (data written by a newer release, or the ``kind`` tag of an
event) and fills the fields the data lacks from their defaults; a value of the wrong type, or a missing field
without a default, raises :class:`ConvertError` (a ``ValueError``) with the path of the bad value.

Dependency-free apart from msgspec, so every layer (the store included) may import it.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

__all__ = ["ConvertError", "from_plain", "to_plain"]

_T = TypeVar("_T")


class ConvertError(ValueError):
    """Plain data that does not fit the type asked for; the message names the bad value's path."""


def to_plain(obj: object) -> Any:  # plain data of any shape: a dict, a list, a number
    """A dataclass (or a structure of them) as plain data; tuples stay tuples, which JSON writes as lists."""
    return msgspec.to_builtins(obj)


def from_plain(data: object, kind: type[_T]) -> _T:
    """Rebuild ``kind`` (a dataclass, or a container of them) from plain data; see the module docstring."""
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise ConvertError(str(exc)) from None
