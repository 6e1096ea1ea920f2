import unittest

from querystring import build_query, parse_query


class TestBuild(unittest.TestCase):
    def test_simple(self):
        self.assertEqual(build_query({"page": 2, "sort": "new"}), "page=2&sort=new")

    def test_list_values_repeat_the_key(self):
        self.assertEqual(build_query({"tag": ["a", "b"]}), "tag=a&tag=b")

    def test_none_is_left_out(self):
        self.assertEqual(build_query({"a": None, "b": 1}), "b=1")

    def test_keys_are_encoded(self):
        self.assertEqual(build_query({"a b": "x"}), "a+b=x")


class TestParse(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(parse_query("?a=1&b=two+words&c="), {"a": "1", "b": "two words", "c": ""})
