import unittest

from textstats import top_words, word_counts


class TestCounts(unittest.TestCase):
    def test_simple_counts(self):
        self.assertEqual(word_counts("the cat and the hat"), {"the": 2, "cat": 1, "and": 1, "hat": 1})

    def test_punctuation_separates(self):
        self.assertEqual(word_counts("red,green;blue"), {"red": 1, "green": 1, "blue": 1})

    def test_top_words_ties_are_alphabetical(self):
        self.assertEqual(top_words("b a c a b", 2), [("a", 2), ("b", 2)])
