import unittest

from roman import from_roman, to_roman


class TestToRoman(unittest.TestCase):
    def test_additive(self):
        self.assertEqual(to_roman(3), "III")
        self.assertEqual(to_roman(2023), "MMXXIII")
        self.assertEqual(to_roman(1666), "MDCLXVI")

    def test_out_of_range(self):
        for bad in [0, -1, 4000, 2.5]:
            with self.assertRaises(ValueError, msg=bad):
                to_roman(bad)


class TestFromRoman(unittest.TestCase):
    def test_additive(self):
        self.assertEqual(from_roman("XII"), 12)
        self.assertEqual(from_roman("mdclxvi"), 1666)

    def test_invalid(self):
        with self.assertRaises(ValueError):
            from_roman("XIZ")
