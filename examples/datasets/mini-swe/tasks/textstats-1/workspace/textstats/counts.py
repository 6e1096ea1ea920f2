import re
from collections import Counter

_WORD = re.compile(r"[A-Za-z0-9]+")


def words(text):
    """The words of a text, lower-cased; a contraction such as "don't" is one word."""
    return _WORD.findall(text)


def word_counts(text):
    """A Counter of the words of a text (see words())."""
    return Counter(words(text))


def top_words(text, n):
    """The n most common words with their counts, ties broken alphabetically."""
    counts = word_counts(text)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
