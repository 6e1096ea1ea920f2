import unittest

from tabletext import render_table


class TestRender(unittest.TestCase):
    def test_cells_wider_than_headers(self):
        text = render_table(["n", "x"], [["apple", 3.5], ["kiwi", 12]])
        self.assertEqual(text, "n     | x\n----- | ----\napple | 3.50\nkiwi  |   12")

    def test_custom_separator(self):
        self.assertEqual(render_table(["a"], [["bb"]], sep=" ; "), "a\n--\nbb")

    def test_row_length_is_checked(self):
        with self.assertRaises(ValueError):
            render_table(["a", "b"], [["only one"]])


class TestHeaderWidth(unittest.TestCase):
    def test_header_wider_than_cells(self):
        text = render_table(["fruit", "quantity"], [["fig", 3]])
        self.assertEqual(text, "fruit | quantity\n----- | --------\nfig   |        3")

    def test_empty_table(self):
        self.assertEqual(render_table(["a", "b"], []), "a | b\n- | -")

    def test_booleans_are_left_aligned(self):
        self.assertEqual(render_table(["flag"], [[True]]), "flag\n----\nTrue")
