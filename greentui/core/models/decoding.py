"""Turning a stream of token ids into a stream of text, and stop strings. Pure Python, no torch.

Decoding one token at a time is wrong for byte-level vocabularies: a multi-byte character (é, 日, 🙂) is often split
over two or more tokens, and decoding a token alone gives U+FFFD. :class:`IncrementalDecoder` follows the method of
Hugging Face's text-generation-inference (``detokenize_incrementally``): decode a short window of recent ids, emit only
what the window adds beyond its already-emitted prefix, and hold back while the window ends in an incomplete
character. Each step decodes a handful of ids, so the cost per token stays constant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

REPLACEMENT = "\ufffd"


class IncrementalDecoder:
    """Feed ids one by one with :meth:`push`; each call returns the new text ("" while a character is incomplete).
    ``"".join(pushes) + flush()`` equals ``decode(all_ids)`` for byte-level and sentencepiece tokenizers."""

    __slots__ = ("_decode", "_ids", "_parts", "_prefix_offset", "_read_offset")

    def __init__(self, decode: Callable[[Sequence[int]], str]) -> None:
        self._decode = decode
        self._ids: list[int] = []
        self._prefix_offset = 0  # start of the context window (keeps leading-space rules right)
        self._read_offset = 0  # ids before this have been emitted
        self._parts: list[str] = []

    @property
    def ids(self) -> list[int]:
        return self._ids

    @property
    def text(self) -> str:
        """Everything emitted so far."""
        return "".join(self._parts)

    def push(self, token_id: int) -> str:
        self._ids.append(token_id)
        prefix_text = self._decode(self._ids[self._prefix_offset : self._read_offset])
        new_text = self._decode(self._ids[self._prefix_offset :])
        if len(new_text) > len(prefix_text) and not new_text.endswith(REPLACEMENT):
            piece = new_text[len(prefix_text) :]
            self._prefix_offset = self._read_offset
            self._read_offset = len(self._ids)
            self._parts.append(piece)
            return piece
        return ""

    def flush(self) -> str:
        """What is still held back at the end (an incomplete character decodes to U+FFFD)."""
        prefix_text = self._decode(self._ids[self._prefix_offset : self._read_offset])
        new_text = self._decode(self._ids[self._prefix_offset :])
        piece = new_text[len(prefix_text) :]
        self._prefix_offset = self._read_offset = len(self._ids)
        if piece:
            self._parts.append(piece)
        return piece


def find_stop(text: str, stops: Sequence[str], new_from: int = 0) -> int | None:
    """Index of the earliest stop string in ``text`` that ends at or after ``new_from`` (the start of the text
    added since the last check), or None. Only the tail is searched, so checking every token stays cheap."""
    best: int | None = None
    for stop in stops:
        if not stop:
            continue
        start = max(0, new_from - len(stop) + 1)
        index = text.find(stop, start)
        if index >= 0 and (best is None or index < best):
            best = index
    return best


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to (not including) the earliest stop string, and whether one was found."""
    index = find_stop(text, stops)
    return (text, False) if index is None else (text[:index], True)
