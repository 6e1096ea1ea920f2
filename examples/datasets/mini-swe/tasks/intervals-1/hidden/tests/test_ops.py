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


class TestMergeEdges(unittest.TestCase):
    def test_touching_intervals_merge(self):
        self.assertEqual(merge([(1, 3), (3, 5)]), [(1, 5)])

    def test_unsorted_input(self):
        self.assertEqual(merge([(6, 8), (1, 2)]), [(1, 2), (6, 8)])

    def test_unsorted_and_touching(self):
        self.assertEqual(merge([(5, 7), (1, 2), (2, 6)]), [(1, 7)])

    def test_total_length_of_unsorted(self):
        self.assertEqual(total_length([(4, 6), (0, 5)]), 6)

    def test_disjoint_sorted(self):
        self.assertEqual(merge([(1, 2), (4, 5)]), [(1, 2), (4, 5)])
