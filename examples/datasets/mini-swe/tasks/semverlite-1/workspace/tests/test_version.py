import unittest

from semverlite import Version, max_version


class TestParse(unittest.TestCase):
    def test_round_trip(self):
        self.assertEqual(str(Version.parse("1.2.3")), "1.2.3")
        self.assertEqual(str(Version.parse("v0.1.0-beta.2")), "0.1.0-beta.2")

    def test_invalid(self):
        with self.assertRaises(ValueError):
            Version.parse("1.2")


class TestOrder(unittest.TestCase):
    def test_single_digit_parts(self):
        self.assertLess(Version.parse("1.2.3"), Version.parse("1.2.4"))
        self.assertLess(Version.parse("1.2.9"), Version.parse("1.3.0"))

    def test_equal(self):
        self.assertEqual(Version.parse("2.0.0"), Version.parse("v2.0.0"))

    def test_max_version(self):
        self.assertEqual(str(max_version(["0.1.0", "0.3.0", "0.2.5"])), "0.3.0")
