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


class TestValueEncoding(unittest.TestCase):
    def test_value_with_ampersand_and_spaces(self):
        self.assertEqual(build_query({"q": "fish & chips"}), "q=fish+%26+chips")

    def test_round_trip(self):
        params = {"q": "x=1 & y=2 #top", "lang": "fr"}
        self.assertEqual(parse_query(build_query(params)), params)

    def test_list_values_are_encoded(self):
        self.assertEqual(build_query({"tag": ["a b", "c"]}), "tag=a+b&tag=c")

    def test_numbers(self):
        self.assertEqual(build_query({"n": 1.5}), "n=1.5")
