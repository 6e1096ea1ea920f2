"""textstats: word counts and simple text statistics."""
from .counts import top_words, word_counts, words

__all__ = ["top_words", "word_counts", "words"]
__version__ = "0.1.4"
