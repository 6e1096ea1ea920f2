import unittest

from slugkit import slugify, unique_slug


class TestSlugify(unittest.TestCase):
    def test_words_are_joined_by_dashes(self):
        self.assertEqual(slugify("hello big world"), "hello-big-world")

    def test_accents_are_dropped(self):
        self.assertEqual(slugify("Café déjà vu"), "cafe-deja-vu")

    def test_custom_separator(self):
        self.assertEqual(slugify("snake case please", sep="_"), "snake_case_please")

    def test_max_length_cuts_at_a_word(self):
        self.assertEqual(slugify("a long title here", max_length=6), "a-long")


class TestUniqueSlug(unittest.TestCase):
    def test_free_slug_is_kept(self):
        self.assertEqual(unique_slug("Hello", set()), "hello")

    def test_taken_slug_gets_a_number(self):
        self.assertEqual(unique_slug("Hello", {"hello", "hello-2"}), "hello-3")
