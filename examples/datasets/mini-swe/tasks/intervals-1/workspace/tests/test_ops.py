import unittest

from intervals import merge, overlaps, total_length


class TestMerge(unittest.TestCase):
    def test_overlapping(self):
        self.assertEqual(merge([(1, 4), (2, 5), (7, 9)]), [(1, 5), (7, 9)])

    def test_contained(self):
        self.assertEqual(merge([(1, 10), (2, 3)]), [(1, 10)])

    def test_empty(self):
        self.assertEqual(merge([]), [])

    def test_backwards_interval(self):
        with self.assertRaises(ValueError):
            merge([(3, 1)])


class TestOther(unittest.TestCase):
    def test_total_length(self):
        self.assertEqual(total_length([(0, 2), (1, 4)]), 4)

    def test_overlaps(self):
        self.assertTrue(overlaps((1, 3), (3, 5)))
        self.assertFalse(overlaps((1, 2), (3, 4)))
