"""Incremental detokenization (multi-byte characters split over tokens) and stop-string search."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greentui.core.models.decoding import IncrementalDecoder, cut_at_stop, find_stop


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from tests.helpers.tiny_models import build_tiny_tokenizer

    return build_tiny_tokenizer()


def _stream(tokenizer: Any, ids: list[int]) -> list[str]:
    decoder = IncrementalDecoder(lambda chunk: tokenizer.decode(chunk, skip_special_tokens=True))
    pieces = [decoder.push(token_id) for token_id in ids]
    return [*pieces, decoder.flush()]


def test_multibyte_characters_are_never_split(tokenizer: Any) -> None:
    text = "Café 日本語 🙂 naïve — “quoted”"
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert len(ids) > len(text.split())  # some characters span several byte tokens
    single = [tokenizer.decode([i]) for i in ids]
    assert any("\ufffd" in piece for piece in single)  # decoding one token alone breaks them
    pieces = _stream(tokenizer, ids)
    assert "".join(pieces) == text
    assert not any("\ufffd" in piece for piece in pieces)


def test_special_tokens_are_skipped(tokenizer: Any) -> None:
    ids = tokenizer("<|im_start|>assistant\nhello<|im_end|>", add_special_tokens=False).input_ids
    assert "".join(_stream(tokenizer, ids)) == "assistant\nhello"


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_stream_adds_up_to_the_full_decode(tokenizer: Any, data: st.DataObject) -> None:
    ids = data.draw(st.lists(st.integers(0, len(tokenizer) - 1), min_size=1, max_size=30))
    assert "".join(_stream(tokenizer, ids)) == tokenizer.decode(ids, skip_special_tokens=True)


def test_find_stop_searches_only_the_new_tail() -> None:
    assert find_stop("abc\n\nxyz", ["\n\n"]) == 3
    assert find_stop("abc\n\nxyz", ["\n\n"], new_from=4) == 3  # the stop ends inside the new text
    assert find_stop("abc\n\nxyz", ["\n\n"], new_from=6) is None  # it was already there before
    assert find_stop("one. two! three", [".", "!"]) == 3
    assert find_stop("nothing", ["", "zzz"]) is None


def test_cut_at_stop() -> None:
    assert cut_at_stop("SELECT 1;\nmore", ["\n"]) == ("SELECT 1;", True)
    assert cut_at_stop("SELECT 1;", ["\n"]) == ("SELECT 1;", False)
    assert cut_at_stop("a</s>b", []) == ("a</s>b", False)
