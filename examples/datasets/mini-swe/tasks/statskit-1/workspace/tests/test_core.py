import unittest

from statskit import StatisticsError, mean, median, spread


class TestMean(unittest.TestCase):
    def test_mean(self):
        self.assertEqual(mean([1, 2, 3, 4]), 2.5)

    def test_empty(self):
        with self.assertRaises(StatisticsError):
            mean([])


class TestMedian(unittest.TestCase):
    def test_sorted_odd(self):
        self.assertEqual(median([1, 2, 3]), 2)

    def test_single_value(self):
        self.assertEqual(median([7]), 7)

    def test_empty(self):
        with self.assertRaises(StatisticsError):
            median([])


class TestSpread(unittest.TestCase):
    def test_spread(self):
        self.assertEqual(spread([4, -1, 9]), 10)
