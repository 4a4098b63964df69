"""Core text statistics functions.

Words are runs of letters, digits and apostrophes; matching is case-insensitive,
so every function works on the lowercase tokens returned by :func:`tokenize`.
"""

from __future__ import annotations

import re
from collections import Counter

_WORD_RE = re.compile(r"[A-Za-z0-9']+")


def tokenize(text: str) -> list[str]:
    """Return the lowercase words of ``text`` in order, without punctuation."""
    return [word.lower() for word in _WORD_RE.findall(text)]


def word_count(text: str) -> int:
    """Return the number of words in ``text`` (0 for empty or blank text)."""
    raise NotImplementedError


def average_word_length(text: str) -> float:
    """Return the mean length of the words in ``text``.

    Returns 0.0 when ``text`` contains no words, so callers never divide by zero.
    The result is rounded to two decimal places.
    """
    words = tokenize(text)
    if not words:
        return 0.0
    total = sum(len(word) for word in words)
    return round(total / len(words), 2)


def top_words(text: str, n: int = 3) -> list[tuple[str, int]]:
    """Return the ``n`` most frequent words of ``text`` with their counts.

    The list is ordered by count, highest first; words with the same count are
    ordered alphabetically. ``n`` larger than the number of distinct words
    returns all of them; ``n <= 0`` returns an empty list.
    """
    raise NotImplementedError


def _counts(text: str) -> Counter[str]:
    """Return a Counter of the words in ``text``."""
    return Counter(tokenize(text))
