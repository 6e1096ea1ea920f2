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
