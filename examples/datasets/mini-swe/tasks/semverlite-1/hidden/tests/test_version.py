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


class TestPrecedence(unittest.TestCase):
    def test_numeric_parts_compare_as_numbers(self):
        self.assertGreater(Version.parse("1.10.0"), Version.parse("1.9.0"))
        self.assertLess(Version.parse("0.9.12"), Version.parse("0.10.1"))

    def test_prerelease_before_release(self):
        self.assertLess(Version.parse("2.0.0-rc.1"), Version.parse("2.0.0"))

    def test_max_version_picks_latest(self):
        self.assertEqual(str(max_version(["1.9.0", "1.10.0", "1.10.0-rc.1"])), "1.10.0")

    def test_prereleases_compare_by_label(self):
        self.assertLess(Version.parse("1.0.0-alpha"), Version.parse("1.0.0-beta"))
