import unittest

from textstats import top_words, word_counts


class TestCounts(unittest.TestCase):
    def test_simple_counts(self):
        self.assertEqual(word_counts("the cat and the hat"), {"the": 2, "cat": 1, "and": 1, "hat": 1})

    def test_punctuation_separates(self):
        self.assertEqual(word_counts("red,green;blue"), {"red": 1, "green": 1, "blue": 1})

    def test_top_words_ties_are_alphabetical(self):
        self.assertEqual(top_words("b a c a b", 2), [("a", 2), ("b", 2)])


class TestWords(unittest.TestCase):
    def test_contractions_are_one_word(self):
        self.assertEqual(word_counts("it's fine, isn't it"), {"it's": 1, "fine": 1, "isn't": 1, "it": 1})

    def test_case_is_ignored(self):
        self.assertEqual(word_counts("Don't stop. don't!"), {"don't": 2, "stop": 1})

    def test_top_words_of_mixed_case(self):
        self.assertEqual(top_words("The end. THE END. the", 1), [("the", 3)])

    def test_quotes_are_not_words(self):
        self.assertEqual(word_counts("'hello'"), {"hello": 1})
