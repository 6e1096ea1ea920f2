import unittest

from pager import EmptyPage, Paginator


class TestPaginator(unittest.TestCase):
    def test_exact_multiple(self):
        p = Paginator(range(20), per_page=10)
        self.assertEqual(p.num_pages, 2)
        self.assertEqual(p.page(2).items, list(range(10, 20)))

    def test_first_page(self):
        page = Paginator("abcdef", per_page=4).page(1)
        self.assertEqual(page.items, ["a", "b", "c", "d"])
        self.assertFalse(page.has_previous())

    def test_empty(self):
        self.assertEqual(Paginator([], per_page=5).num_pages, 1)
        self.assertEqual(Paginator([], per_page=5, allow_empty_first_page=False).num_pages, 0)

    def test_page_zero_is_an_error(self):
        with self.assertRaises(EmptyPage):
            Paginator(range(3), per_page=2).page(0)
