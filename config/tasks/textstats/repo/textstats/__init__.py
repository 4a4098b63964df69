"""textstats: tiny text statistics helpers."""

from textstats.core import average_word_length, tokenize, top_words, word_count

__all__ = ["average_word_length", "tokenize", "top_words", "word_count"]
