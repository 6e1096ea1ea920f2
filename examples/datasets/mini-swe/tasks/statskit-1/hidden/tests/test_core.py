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


class TestMedianCases(unittest.TestCase):
    def test_unsorted_odd(self):
        self.assertEqual(median([3, 1, 2]), 2)

    def test_sorted_even(self):
        self.assertEqual(median([1, 2, 3, 4]), 2.5)

    def test_unsorted_even(self):
        self.assertEqual(median([10, 2, 8, 4]), 6)

    def test_generator_input(self):
        self.assertEqual(median(x for x in [1, 3, 5]), 3)
