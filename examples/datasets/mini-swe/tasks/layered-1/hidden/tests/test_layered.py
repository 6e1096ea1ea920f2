import unittest

from layered import deep_merge, from_env


class TestDeepMerge(unittest.TestCase):
    def test_nested_dicts_are_merged(self):
        base = {"db": {"host": "localhost", "port": 5432}, "debug": False}
        self.assertEqual(
            deep_merge(base, {"db": {"port": 5433}, "debug": True}),
            {"db": {"host": "localhost", "port": 5433}, "debug": True},
        )

    def test_non_dict_replaces_dict(self):
        self.assertEqual(deep_merge({"a": {"b": 1}}, {"a": 2}), {"a": 2})

    def test_top_level_is_a_new_dict(self):
        base = {"a": 1}
        deep_merge(base, {"b": 2})
        self.assertEqual(base, {"a": 1})


class TestFromEnv(unittest.TestCase):
    def test_nested_and_coerced(self):
        env = {"APP__DB__PORT": "5433", "APP__DEBUG": "true", "OTHER": "x", "APP__NAME": "demo"}
        self.assertEqual(from_env("APP", env), {"db": {"port": 5433}, "debug": True, "name": "demo"})


class TestNoSharing(unittest.TestCase):
    def test_base_list_is_not_shared(self):
        defaults = {"plugins": ["core"]}
        config = deep_merge(defaults, {})
        config["plugins"].append("debug-toolbar")
        self.assertEqual(defaults, {"plugins": ["core"]})

    def test_override_value_is_not_shared(self):
        user = {"extra": {"tags": ["a"]}}
        config = deep_merge({}, user)
        config["extra"]["tags"].append("b")
        self.assertEqual(user, {"extra": {"tags": ["a"]}})

    def test_untouched_nested_dict_is_not_shared(self):
        defaults = {"db": {"host": "localhost"}, "cache": {"ttl": 60}}
        config = deep_merge(defaults, {"db": {"port": 1}})
        config["cache"]["ttl"] = 0
        self.assertEqual(defaults["cache"], {"ttl": 60})

    def test_merged_nested_dict_leaves_base_alone(self):
        defaults = {"db": {"host": "localhost"}}
        deep_merge(defaults, {"db": {"port": 1}})
        self.assertEqual(defaults, {"db": {"host": "localhost"}})
