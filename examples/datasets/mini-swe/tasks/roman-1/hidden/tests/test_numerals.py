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


class TestSubtractive(unittest.TestCase):
    def test_to_roman_subtractive(self):
        self.assertEqual(to_roman(4), "IV")
        self.assertEqual(to_roman(9), "IX")
        self.assertEqual(to_roman(1994), "MCMXCIV")

    def test_from_roman_subtractive(self):
        self.assertEqual(from_roman("IX"), 9)
        self.assertEqual(from_roman("MCMXCIV"), 1994)

    def test_round_trip(self):
        for n in range(1, 400):
            self.assertEqual(from_roman(to_roman(n)), n)

    def test_large_additive(self):
        self.assertEqual(to_roman(3888), "MMMDCCCLXXXVIII")
