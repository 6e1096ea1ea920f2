import unittest

from confparse import ConfigError, parse, parse_line


class TestParseLine(unittest.TestCase):
    def test_key_and_value_are_stripped(self):
        self.assertEqual(parse_line("  name =  demo  "), ("name", "demo"))

    def test_comments_and_blank_lines(self):
        self.assertIsNone(parse_line("# a comment"))
        self.assertIsNone(parse_line("; another"))
        self.assertIsNone(parse_line("   "))

    def test_line_without_equals_is_an_error(self):
        with self.assertRaises(ConfigError):
            parse_line("just words")


class TestParse(unittest.TestCase):
    def test_sections(self):
        text = "top = 1\n[db]\nhost = localhost\nport = 5432\n[cache]\nttl = 60\n"
        self.assertEqual(
            parse(text),
            {"DEFAULT": {"top": "1"}, "db": {"host": "localhost", "port": "5432"}, "cache": {"ttl": "60"}},
        )

    def test_error_names_the_line(self):
        with self.assertRaisesRegex(ConfigError, "line 2"):
            parse("[a]\noops\n")


class TestValuesWithEquals(unittest.TestCase):
    def test_value_keeps_later_equals_signs(self):
        self.assertEqual(parse_line("token = abc=="), ("token", "abc=="))

    def test_url_with_query_string(self):
        config = parse("[db]\nurl = postgres://db.internal/app?sslmode=require\n")
        self.assertEqual(config["db"]["url"], "postgres://db.internal/app?sslmode=require")

    def test_empty_value(self):
        self.assertEqual(parse_line("empty ="), ("empty", ""))
