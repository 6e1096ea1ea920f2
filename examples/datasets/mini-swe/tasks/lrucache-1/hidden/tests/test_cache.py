import unittest

from lrucache import LRUCache


class TestLRUCache(unittest.TestCase):
    def test_put_and_get(self):
        cache = LRUCache(2)
        cache.put("a", 1)
        self.assertEqual(cache.get("a"), 1)
        self.assertIsNone(cache.get("missing"))
        self.assertEqual((cache.hits, cache.misses), (1, 1))

    def test_oldest_write_is_evicted(self):
        cache = LRUCache(2)
        for key in "abc":
            cache.put(key, key.upper())
        self.assertNotIn("a", cache)
        self.assertEqual(len(cache), 2)

    def test_overwrite_counts_as_use(self):
        cache = LRUCache(2)
        cache.put("a", 1)
        cache.put("b", 2)
        cache.put("a", 10)
        cache.put("c", 3)
        self.assertEqual(cache.get("a"), 10)
        self.assertNotIn("b", cache)

    def test_capacity_must_be_positive(self):
        with self.assertRaises(ValueError):
            LRUCache(0)


class TestReadsCountAsUse(unittest.TestCase):
    def test_read_entry_survives_eviction(self):
        cache = LRUCache(2)
        cache.put("a", 1)
        cache.put("b", 2)
        cache.get("a")
        cache.put("c", 3)
        self.assertEqual(cache.get("a"), 1)
        self.assertIsNone(cache.get("b"))

    def test_keys_order_follows_reads(self):
        cache = LRUCache(3)
        for key in "xyz":
            cache.put(key, 0)
        cache.get("x")
        self.assertEqual(cache.keys(), ["y", "z", "x"])

    def test_missed_read_changes_nothing(self):
        cache = LRUCache(2)
        cache.put("a", 1)
        cache.put("b", 2)
        cache.get("zzz")
        self.assertEqual(cache.keys(), ["a", "b"])
