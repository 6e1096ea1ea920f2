import unittest

from durations import format_duration, parse_duration


class TestParse(unittest.TestCase):
    def test_hours_and_minutes(self):
        self.assertEqual(parse_duration("1h30m"), 5400)

    def test_days_with_spaces(self):
        self.assertEqual(parse_duration(" 1d 2h "), 93600)

    def test_garbage(self):
        for text in ["", "soon", "10", "5x", "1h later"]:
            with self.assertRaises(ValueError, msg=text):
                parse_duration(text)


class TestFormat(unittest.TestCase):
    def test_format(self):
        self.assertEqual(format_duration(5400), "1h 30m")
        self.assertEqual(format_duration(0), "0s")
        self.assertEqual(format_duration(90061), "1d 1h 1m 1s")


class TestSeconds(unittest.TestCase):
    def test_seconds_alone(self):
        self.assertEqual(parse_duration("45s"), 45)

    def test_minutes_and_seconds(self):
        self.assertEqual(parse_duration("1m 30s"), 90)

    def test_round_trip(self):
        for seconds in [1, 59, 3601, 90061]:
            self.assertEqual(parse_duration(format_duration(seconds)), seconds)

    def test_upper_case_units(self):
        self.assertEqual(parse_duration("2H"), 7200)
