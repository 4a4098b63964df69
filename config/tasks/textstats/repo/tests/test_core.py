"""Tests for textstats.core."""

import pytest

from textstats.core import average_word_length, tokenize, top_words, word_count

SAMPLE = "The cat sat on the mat. The mat was flat; the cat wasn't."


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("Hello, World! It's 2024.") == ["hello", "world", "it's", "2024"]


def test_tokenize_empty():
    assert tokenize("") == []


def test_average_word_length():
    assert average_word_length("a bb ccc") == 2.0
    assert average_word_length("...") == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0), ("   ", 0), ("one", 1), ("Hello, world!", 2), (SAMPLE, 13)],
)
def test_word_count(text, expected):
    assert word_count(text) == expected


def test_word_count_ignores_punctuation_only_tokens():
    assert word_count("wait -- what ?") == 2


def test_top_words_orders_by_count_then_alphabetically():
    assert top_words(SAMPLE, 3) == [("the", 4), ("cat", 2), ("mat", 2)]


def test_top_words_default_n():
    assert len(top_words(SAMPLE)) == 3


def test_top_words_edge_cases():
    assert top_words("b a b", 10) == [("b", 2), ("a", 1)]
    assert top_words(SAMPLE, 0) == []
    assert top_words("", 3) == []
