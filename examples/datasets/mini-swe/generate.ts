/**
 * Generator of the `mini-swe` data set: a `workspace` task family (docs/cbm-workspace.md) of small
 * SWE-bench-style tasks. Each task is a tiny pure-Python repository written by this project
 * (standard library only: a package, a README, visible unittest tests), a bug planted in the
 * package, an issue text describing the bug as a user would on GitHub, hidden tests (the test
 * module extended by a test class whose listed tests fail until the bug is fixed, plus the existing
 * tests as regression tests) and a reference patch that fixes it.
 *
 * Each repository below is written in its FIXED state; `bugs` says which text the workspace has
 * instead, and the reference patch is the unified diff from the workspace back to the fixed state.
 * The score command runs exactly the FAIL_TO_PASS and PASS_TO_PASS tests:
 * `python3 -m unittest <ids>`, so it exits 0 only when the task is resolved.
 *
 * Deterministic: `npx tsx examples/datasets/mini-swe/generate.ts` rewrites family.json,
 * splits.json and tasks/ byte for byte (test/examples/mini-swe.test.ts checks it, and that every
 * task's hidden tests fail on the workspace and pass after the reference patch).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stratifiedSplit } from '../../../core/scoring/sampling';

/** A bug: in `file`, the fixed text `fixed` (which must occur exactly once) reads `buggy` in the workspace. */
interface Bug {
  file: string;
  fixed: string;
  buggy: string;
}

/** One repository and its task. */
interface MiniRepo {
  /** Task id. */
  id: string;
  /** Package (and repository) name. */
  name: string;
  version: string;
  description: string;
  /** A short usage example for the README (Python). */
  usage: string;
  /** How many separate edits the fix needs (the split is stratified by it). */
  edits: 1 | 2;
  /** The issue: title and body (GitHub-flavoured Markdown). */
  title: string;
  issue: string;
  /** The package and its visible tests (`tests/…`), fixed. README.md, pyproject.toml and tests/__init__.py are added. */
  files: Record<string, string>;
  bugs: Bug[];
  /** The hidden test class appended to `file` (a module of `files`); `failing`: its tests that fail before the fix. */
  hidden: { file: string; tests: string; failing: string[] };
}

/** A source text: the template's raw characters (backslashes kept), without the first newline. */
const src = (s: TemplateStringsArray, ...v: unknown[]): string => String.raw(s, ...v).replace(/^\n/, '');

/** The line every task's instructions end with. */
export const WORKING_LINE =
  'You are working in a checkout of this repository (the current directory): fix the bug in the package code so that the issue above is resolved, without changing the tests (`python3 -m unittest` runs the existing ones).';

const REPOS: MiniRepo[] = [
  {
    id: 'slugkit-1',
    name: 'slugkit',
    version: '0.3.1',
    description: 'URL slugs from titles.',
    usage: 'from slugkit import slugify, unique_slug\n\nslugify("Café déjà vu")           # "cafe-deja-vu"\nunique_slug("Hello", {"hello"})   # "hello-2"',
    edits: 1,
    title: 'slugify() leaves a trailing dash when the title ends with punctuation',
    issue: `Titles that end (or start) with punctuation or spaces produce slugs with a dangling separator:

~~~python
>>> from slugkit import slugify
>>> slugify("Hello, World!")
'hello-world-'
>>> slugify("  Spaces around  ")
'-spaces-around-'
~~~

I expected \`'hello-world'\` and \`'spaces-around'\`. The URLs we generate from blog titles now end in \`-\`, and \`unique_slug()\` then produces things like \`hello-world--2\`.

slugkit 0.3.1, Python 3.11.`,
    files: {
      'slugkit/__init__.py': src`
"""slugkit: URL slugs from titles."""
from .slug import slugify
from .unique import unique_slug

__all__ = ["slugify", "unique_slug"]
__version__ = "0.3.1"
`,
      'slugkit/slug.py': src`
import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text, sep="-", max_length=None):
    """Turn text into a URL slug: lower-case ASCII words joined by sep.

    Accents are dropped ("é" becomes "e"); every run of other characters becomes one separator.
    With max_length, the slug is cut to at most that many characters (never ending in sep).
    """
    normalized = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_WORD.sub(sep, normalized.lower()).strip(sep)
    if max_length is not None and len(slug) > max_length:
        slug = slug[:max_length].rstrip(sep)
    return slug
`,
      'slugkit/unique.py': src`
from .slug import slugify


def unique_slug(text, taken, sep="-"):
    """A slug of text that is not in taken: the plain slug, else slug-2, slug-3, ..."""
    base = slugify(text, sep=sep)
    if base not in taken:
        return base
    n = 2
    while "%s%s%d" % (base, sep, n) in taken:
        n += 1
    return "%s%s%d" % (base, sep, n)
`,
      'tests/test_slug.py': src`
import unittest

from slugkit import slugify, unique_slug


class TestSlugify(unittest.TestCase):
    def test_words_are_joined_by_dashes(self):
        self.assertEqual(slugify("hello big world"), "hello-big-world")

    def test_accents_are_dropped(self):
        self.assertEqual(slugify("Café déjà vu"), "cafe-deja-vu")

    def test_custom_separator(self):
        self.assertEqual(slugify("snake case please", sep="_"), "snake_case_please")

    def test_max_length_cuts_at_a_word(self):
        self.assertEqual(slugify("a long title here", max_length=6), "a-long")


class TestUniqueSlug(unittest.TestCase):
    def test_free_slug_is_kept(self):
        self.assertEqual(unique_slug("Hello", set()), "hello")

    def test_taken_slug_gets_a_number(self):
        self.assertEqual(unique_slug("Hello", {"hello", "hello-2"}), "hello-3")
`,
    },
    bugs: [{ file: 'slugkit/slug.py', fixed: 'normalized.lower()).strip(sep)', buggy: 'normalized.lower())' }],
    hidden: {
      file: 'tests/test_slug.py',
      tests: src`
class TestSlugEdges(unittest.TestCase):
    def test_trailing_punctuation_is_dropped(self):
        self.assertEqual(slugify("Hello, World!"), "hello-world")

    def test_surrounding_spaces_are_dropped(self):
        self.assertEqual(slugify("  Spaces around  "), "spaces-around")

    def test_unique_slug_of_punctuated_title(self):
        self.assertEqual(unique_slug("Hello, World!", {"hello-world"}), "hello-world-2")

    def test_inner_punctuation_becomes_one_dash(self):
        self.assertEqual(slugify("rock'n'roll"), "rock-n-roll")
`,
      failing: ['test_trailing_punctuation_is_dropped', 'test_surrounding_spaces_are_dropped', 'test_unique_slug_of_punctuated_title'],
    },
  },
  {
    id: 'confparse-1',
    name: 'confparse',
    version: '1.2.0',
    description: 'A small INI-style configuration parser.',
    usage: 'from confparse import parse\n\nconfig = parse(open("app.conf").read())\nconfig["db"]["host"]',
    edits: 1,
    title: 'ValueError: too many values to unpack when a value contains "="',
    issue: `Parsing a config whose value contains an equals sign crashes:

~~~
[db]
url = postgres://db.internal/app?sslmode=require
~~~

~~~
Traceback (most recent call last):
  File "app.py", line 12, in <module>
    config = confparse.parse(text)
  File "confparse/parser.py", line 35, in parse
    item = parse_line(line)
  File "confparse/parser.py", line 15, in parse_line
    key, value = stripped.split("=")
ValueError: too many values to unpack (expected 2)
~~~

Only the first \`=\` should separate the key from the value; everything after it is the value (\`postgres://db.internal/app?sslmode=require\`). Query strings and base64 padding in values are common in our configs.`,
    files: {
      'confparse/__init__.py': src`
"""confparse: a small INI-style configuration parser."""
from .parser import ConfigError, parse, parse_line

__all__ = ["ConfigError", "parse", "parse_line"]
__version__ = "1.2.0"
`,
      'confparse/parser.py': src`
class ConfigError(ValueError):
    """A line of the configuration is not valid."""


def parse_line(line):
    """(key, value) of a "key = value" line; None for blank and comment lines.

    Keys and values are stripped of surrounding spaces. Comments start with "#" or ";".
    """
    stripped = line.strip()
    if not stripped or stripped.startswith(("#", ";")):
        return None
    if "=" not in stripped:
        raise ConfigError("expected 'key = value', got %r" % line)
    key, value = stripped.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError("missing key in %r" % line)
    return key, value.strip()


def parse(text):
    """{section: {key: value}} of a configuration text; keys before any section go to "DEFAULT"."""
    result = {"DEFAULT": {}}
    section = "DEFAULT"
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            if not section:
                raise ConfigError("line %d: empty section name" % number)
            result.setdefault(section, {})
            continue
        try:
            item = parse_line(line)
        except ConfigError as e:
            raise ConfigError("line %d: %s" % (number, e))
        if item is not None:
            result[section][item[0]] = item[1]
    return result
`,
      'tests/test_parser.py': src`
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
`,
    },
    bugs: [{ file: 'confparse/parser.py', fixed: 'stripped.split("=", 1)', buggy: 'stripped.split("=")' }],
    hidden: {
      file: 'tests/test_parser.py',
      tests: src`
class TestValuesWithEquals(unittest.TestCase):
    def test_value_keeps_later_equals_signs(self):
        self.assertEqual(parse_line("token = abc=="), ("token", "abc=="))

    def test_url_with_query_string(self):
        config = parse("[db]\nurl = postgres://db.internal/app?sslmode=require\n")
        self.assertEqual(config["db"]["url"], "postgres://db.internal/app?sslmode=require")

    def test_empty_value(self):
        self.assertEqual(parse_line("empty ="), ("empty", ""))
`,
      failing: ['test_value_keeps_later_equals_signs', 'test_url_with_query_string'],
    },
  },
  {
    id: 'pager-1',
    name: 'pager',
    version: '0.9.0',
    description: 'Pagination of sequences for web views.',
    usage: 'from pager import Paginator\n\np = Paginator(list(range(25)), per_page=10)\np.num_pages        # 3\np.page(3).items    # [20, 21, 22, 23, 24]',
    edits: 1,
    title: 'Last page is missing when the item count is not a multiple of per_page',
    issue: `With 25 items and 10 per page I get only two pages, and the last five items cannot be reached:

~~~python
>>> from pager import Paginator
>>> p = Paginator(list(range(25)), per_page=10)
>>> p.num_pages
2
>>> p.page(3)
pager.paginator.EmptyPage: page 3 is after the last page (2)
~~~

Expected \`num_pages == 3\` and \`page(3).items == [20, 21, 22, 23, 24]\`. It works when the count is an exact multiple (20 items → 2 pages). Our archive view silently drops the oldest posts because of this.`,
    files: {
      'pager/__init__.py': src`
"""pager: pagination of sequences."""
from .paginator import EmptyPage, Page, Paginator

__all__ = ["EmptyPage", "Page", "Paginator"]
__version__ = "0.9.0"
`,
      'pager/paginator.py': src`
class EmptyPage(LookupError):
    """The requested page number is out of range."""


class Page:
    def __init__(self, items, number, paginator):
        self.items = items
        self.number = number
        self.paginator = paginator

    def has_next(self):
        return self.number < self.paginator.num_pages

    def has_previous(self):
        return self.number > 1

    def __repr__(self):
        return "<Page %d of %d>" % (self.number, self.paginator.num_pages)


class Paginator:
    """Splits a sequence into pages of per_page items (numbered from 1)."""

    def __init__(self, items, per_page, allow_empty_first_page=True):
        if per_page < 1:
            raise ValueError("per_page must be at least 1")
        self.items = list(items)
        self.per_page = per_page
        self.allow_empty_first_page = allow_empty_first_page

    @property
    def count(self):
        return len(self.items)

    @property
    def num_pages(self):
        if self.count == 0:
            return 1 if self.allow_empty_first_page else 0
        return (self.count + self.per_page - 1) // self.per_page

    def page(self, number):
        if number < 1:
            raise EmptyPage("page numbers start at 1, got %d" % number)
        if number > self.num_pages:
            raise EmptyPage("page %d is after the last page (%d)" % (number, self.num_pages))
        start = (number - 1) * self.per_page
        return Page(self.items[start:start + self.per_page], number, self)
`,
      'tests/test_paginator.py': src`
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
`,
    },
    bugs: [{ file: 'pager/paginator.py', fixed: 'return (self.count + self.per_page - 1) // self.per_page', buggy: 'return self.count // self.per_page' }],
    hidden: {
      file: 'tests/test_paginator.py',
      tests: src`
class TestPartialLastPage(unittest.TestCase):
    def test_partial_last_page_is_counted(self):
        self.assertEqual(Paginator(range(25), per_page=10).num_pages, 3)

    def test_partial_last_page_items(self):
        page = Paginator(range(25), per_page=10).page(3)
        self.assertEqual(page.items, [20, 21, 22, 23, 24])
        self.assertFalse(page.has_next())

    def test_fewer_items_than_a_page(self):
        self.assertEqual(Paginator(range(3), per_page=10).num_pages, 1)

    def test_page_after_the_last_is_an_error(self):
        with self.assertRaises(EmptyPage):
            Paginator(range(20), per_page=10).page(3)
`,
      failing: ['test_partial_last_page_is_counted', 'test_partial_last_page_items', 'test_fewer_items_than_a_page'],
    },
  },
  {
    id: 'semverlite-1',
    name: 'semverlite',
    version: '0.4.2',
    description: 'Parse and compare semantic versions.',
    usage: 'from semverlite import Version, max_version\n\nVersion.parse("1.10.0") > Version.parse("1.9.3")   # True\nmax_version(["1.2.0", "1.10.0-rc.1", "1.9.0"])     # Version("1.10.0-rc.1")',
    edits: 2,
    title: 'Version ordering is wrong for 1.10 vs 1.9 and for release candidates',
    issue: `Two ordering problems with \`Version\`:

~~~python
>>> from semverlite import Version
>>> Version.parse("1.10.0") > Version.parse("1.9.0")
False
>>> sorted(["2.0.0", "2.0.0-rc.1"], key=Version.parse)
['2.0.0', '2.0.0-rc.1']
~~~

1. Numeric parts seem to be compared as text, so \`1.10.0\` sorts before \`1.9.0\`. Our updater picked 1.9.0 as the "latest" release.
2. Per semver, a pre-release has *lower* precedence than the release (\`2.0.0-rc.1 < 2.0.0\`), but here the release candidate sorts after the final release.

Expected: \`1.10.0 > 1.9.0\` and \`2.0.0-rc.1 < 2.0.0\`; \`max_version()\` should then pick the right one.`,
    files: {
      'semverlite/__init__.py': src`
"""semverlite: parse and compare semantic versions."""
from .version import Version, max_version

__all__ = ["Version", "max_version"]
__version__ = "0.4.2"
`,
      'semverlite/version.py': src`
import functools
import re

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$")


@functools.total_ordering
class Version:
    """A semantic version MAJOR.MINOR.PATCH[-PRERELEASE] (build metadata is not supported)."""

    def __init__(self, major, minor, patch, prerelease=""):
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease

    @classmethod
    def parse(cls, text):
        m = _VERSION.match(text.strip())
        if not m:
            raise ValueError("not a semantic version: %r" % text)
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) or "")

    def _key(self):
        # A pre-release sorts before the release it leads up to.
        return (self.major, self.minor, self.patch, self.prerelease == "", self.prerelease)

    def __eq__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())

    def __str__(self):
        core = "{}.{}.{}".format(self.major, self.minor, self.patch)
        return core + ("-" + self.prerelease if self.prerelease else "")

    def __repr__(self):
        return "Version(%r)" % str(self)


def max_version(texts):
    """The greatest of some version strings, as a Version."""
    return max(Version.parse(t) for t in texts)
`,
      'tests/test_version.py': src`
import unittest

from semverlite import Version, max_version


class TestParse(unittest.TestCase):
    def test_round_trip(self):
        self.assertEqual(str(Version.parse("1.2.3")), "1.2.3")
        self.assertEqual(str(Version.parse("v0.1.0-beta.2")), "0.1.0-beta.2")

    def test_invalid(self):
        with self.assertRaises(ValueError):
            Version.parse("1.2")


class TestOrder(unittest.TestCase):
    def test_single_digit_parts(self):
        self.assertLess(Version.parse("1.2.3"), Version.parse("1.2.4"))
        self.assertLess(Version.parse("1.2.9"), Version.parse("1.3.0"))

    def test_equal(self):
        self.assertEqual(Version.parse("2.0.0"), Version.parse("v2.0.0"))

    def test_max_version(self):
        self.assertEqual(str(max_version(["0.1.0", "0.3.0", "0.2.5"])), "0.3.0")
`,
    },
    bugs: [
      {
        file: 'semverlite/version.py',
        fixed: 'return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) or "")',
        buggy: 'return cls(m.group(1), m.group(2), m.group(3), m.group(4) or "")',
      },
      {
        file: 'semverlite/version.py',
        fixed: '        # A pre-release sorts before the release it leads up to.\n        return (self.major, self.minor, self.patch, self.prerelease == "", self.prerelease)',
        buggy: '        return (self.major, self.minor, self.patch, self.prerelease)',
      },
    ],
    hidden: {
      file: 'tests/test_version.py',
      tests: src`
class TestPrecedence(unittest.TestCase):
    def test_numeric_parts_compare_as_numbers(self):
        self.assertGreater(Version.parse("1.10.0"), Version.parse("1.9.0"))
        self.assertLess(Version.parse("0.9.12"), Version.parse("0.10.1"))

    def test_prerelease_before_release(self):
        self.assertLess(Version.parse("2.0.0-rc.1"), Version.parse("2.0.0"))

    def test_max_version_picks_latest(self):
        self.assertEqual(str(max_version(["1.9.0", "1.10.0", "1.10.0-rc.1"])), "1.10.0")

    def test_prereleases_compare_by_label(self):
        self.assertLess(Version.parse("1.0.0-alpha"), Version.parse("1.0.0-beta"))
`,
      failing: ['test_numeric_parts_compare_as_numbers', 'test_prerelease_before_release', 'test_max_version_picks_latest'],
    },
  },
  {
    id: 'lrucache-1',
    name: 'lrucache',
    version: '2.0.1',
    description: 'A least-recently-used cache with a fixed capacity.',
    usage: 'from lrucache import LRUCache\n\ncache = LRUCache(capacity=2)\ncache.put("a", 1)\ncache.get("a")   # 1',
    edits: 1,
    title: 'Reading an entry does not protect it from eviction',
    issue: `\`LRUCache\` is documented as evicting the *least recently used* entry, but reading an entry with \`get()\` does not count as a use:

~~~python
from lrucache import LRUCache

cache = LRUCache(capacity=2)
cache.put("a", 1)
cache.put("b", 2)
cache.get("a")       # "a" is now the most recently used
cache.put("c", 3)    # should evict "b"
print(cache.get("a"), cache.get("b"))
~~~

Prints \`None 2\`; expected \`1 None\`. Our hottest keys (read constantly, written once) are the first to be evicted, so the cache hit rate collapses under load.`,
    files: {
      'lrucache/__init__.py': src`
"""lrucache: a least-recently-used cache."""
from .cache import LRUCache

__all__ = ["LRUCache"]
__version__ = "2.0.1"
`,
      'lrucache/cache.py': src`
from collections import OrderedDict


class LRUCache:
    """A mapping of at most capacity entries; adding one more evicts the least recently used.

    Both get() and put() count as a use of the key.
    """

    def __init__(self, capacity):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._data = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key, default=None):
        if key not in self._data:
            self.misses += 1
            return default
        self.hits += 1
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key, value):
        if key in self._data:
            self._data.move_to_end(key)
        self._data[key] = value
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def __contains__(self, key):
        return key in self._data

    def __len__(self):
        return len(self._data)

    def keys(self):
        """Keys from least to most recently used."""
        return list(self._data)
`,
      'tests/test_cache.py': src`
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
`,
    },
    bugs: [{ file: 'lrucache/cache.py', fixed: '        self.hits += 1\n        self._data.move_to_end(key)\n', buggy: '        self.hits += 1\n' }],
    hidden: {
      file: 'tests/test_cache.py',
      tests: src`
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
`,
      failing: ['test_read_entry_survives_eviction', 'test_keys_order_follows_reads'],
    },
  },
  {
    id: 'statskit-1',
    name: 'statskit',
    version: '0.2.0',
    description: 'Descriptive statistics for lists of numbers.',
    usage: 'from statskit import mean, median\n\nmean([1, 2, 3, 4])     # 2.5\nmedian([3, 1, 4, 2])   # 2.5',
    edits: 2,
    title: 'median() is wrong for unsorted data and for an even number of values',
    issue: `\`median()\` gives wrong answers in two common cases:

~~~python
>>> from statskit import median
>>> median([3, 1, 2])
1
>>> median([1, 2, 3, 4])
3
~~~

Expected \`2\` and \`2.5\`. It looks like the input is not sorted before the middle element is taken, and for an even number of values the median should be the mean of the two middle values (as \`statistics.median\` does). The other functions (\`mean\`, \`spread\`) look fine.`,
    files: {
      'statskit/__init__.py': src`
"""statskit: descriptive statistics for lists of numbers."""
from .core import StatisticsError, mean, median, spread

__all__ = ["StatisticsError", "mean", "median", "spread"]
__version__ = "0.2.0"
`,
      'statskit/core.py': src`
class StatisticsError(ValueError):
    """The statistic is not defined for the data (e.g. no values)."""


def _values(data, name):
    values = list(data)
    if not values:
        raise StatisticsError("%s() of an empty sequence" % name)
    return values


def mean(data):
    """The arithmetic mean."""
    values = _values(data, "mean")
    return sum(values) / len(values)


def median(data):
    """The middle value of the sorted data; the mean of the two middle values when their number is even."""
    values = sorted(_values(data, "median"))
    mid = len(values) // 2
    if len(values) % 2 == 0:
        return (values[mid - 1] + values[mid]) / 2
    return values[mid]


def spread(data):
    """max - min."""
    values = _values(data, "spread")
    return max(values) - min(values)
`,
      'tests/test_core.py': src`
import unittest

from statskit import StatisticsError, mean, median, spread


class TestMean(unittest.TestCase):
    def test_mean(self):
        self.assertEqual(mean([1, 2, 3, 4]), 2.5)

    def test_empty(self):
        with self.assertRaises(StatisticsError):
            mean([])


class TestMedian(unittest.TestCase):
    def test_sorted_odd(self):
        self.assertEqual(median([1, 2, 3]), 2)

    def test_single_value(self):
        self.assertEqual(median([7]), 7)

    def test_empty(self):
        with self.assertRaises(StatisticsError):
            median([])


class TestSpread(unittest.TestCase):
    def test_spread(self):
        self.assertEqual(spread([4, -1, 9]), 10)
`,
    },
    bugs: [
      { file: 'statskit/core.py', fixed: 'values = sorted(_values(data, "median"))', buggy: 'values = _values(data, "median")' },
      { file: 'statskit/core.py', fixed: '    if len(values) % 2 == 0:\n        return (values[mid - 1] + values[mid]) / 2\n', buggy: '' },
    ],
    hidden: {
      file: 'tests/test_core.py',
      tests: src`
class TestMedianCases(unittest.TestCase):
    def test_unsorted_odd(self):
        self.assertEqual(median([3, 1, 2]), 2)

    def test_sorted_even(self):
        self.assertEqual(median([1, 2, 3, 4]), 2.5)

    def test_unsorted_even(self):
        self.assertEqual(median([10, 2, 8, 4]), 6)

    def test_generator_input(self):
        self.assertEqual(median(x for x in [1, 3, 5]), 3)
`,
      failing: ['test_unsorted_odd', 'test_sorted_even', 'test_unsorted_even'],
    },
  },
  {
    id: 'durations-1',
    name: 'durations',
    version: '1.0.3',
    description: 'Parse and format human-readable durations such as "1h30m".',
    usage: 'from durations import parse_duration, format_duration\n\nparse_duration("1h30m")   # 5400\nformat_duration(5400)     # "1h 30m"',
    edits: 1,
    title: 'parse_duration() rejects seconds ("45s")',
    issue: `The README says durations may combine days, hours, minutes and seconds, and \`format_duration()\` even produces seconds, but \`parse_duration()\` rejects them:

~~~python
>>> from durations import parse_duration, format_duration
>>> format_duration(90)
'1m 30s'
>>> parse_duration("1m 30s")
ValueError: invalid duration: '1m 30s'
>>> parse_duration("45s")
ValueError: invalid duration: '45s'
~~~

Expected \`90\` and \`45\`. This breaks our timeout settings: anything written with seconds fails validation, and round-tripping through \`format_duration\` fails.`,
    files: {
      'durations/__init__.py': src`
"""durations: parse and format human-readable durations."""
from .parse import UNITS, format_duration, parse_duration

__all__ = ["UNITS", "format_duration", "parse_duration"]
__version__ = "1.0.3"
`,
      'durations/parse.py': src`
import re

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

_PART = re.compile(r"(\d+)\s*([dhms])")


def parse_duration(text):
    """Seconds in a duration such as "2h", "1h30m", "1d 4h" or "45s" (units d, h, m, s)."""
    s = text.strip().lower()
    total = 0
    pos = 0
    for m in _PART.finditer(s):
        if s[pos:m.start()].strip():
            raise ValueError("invalid duration: %r" % text)
        total += int(m.group(1)) * UNITS[m.group(2)]
        pos = m.end()
    if pos == 0 or s[pos:].strip():
        raise ValueError("invalid duration: %r" % text)
    return total


def format_duration(seconds):
    """The shortest form of a number of seconds, e.g. 5400 -> "1h 30m"; 0 -> "0s"."""
    if seconds < 0:
        raise ValueError("negative duration")
    parts = []
    for unit, size in UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append("%d%s" % (count, unit))
    return " ".join(parts) or "0s"
`,
      'tests/test_parse.py': src`
import unittest

from durations import format_duration, parse_duration


class TestParse(unittest.TestCase):
    def test_hours_and_minutes(self):
        self.assertEqual(parse_duration("1h30m"), 5400)

    def test_days_with_spaces(self):
        self.assertEqual(parse_duration(" 1d 2h "), 93600)

    def test_garbage(self):
        for text in ["", "soon", "10", "5x", "1h later"]:
            with self.assertRaises(ValueError, msg=text):
                parse_duration(text)


class TestFormat(unittest.TestCase):
    def test_format(self):
        self.assertEqual(format_duration(5400), "1h 30m")
        self.assertEqual(format_duration(0), "0s")
        self.assertEqual(format_duration(90061), "1d 1h 1m 1s")
`,
    },
    bugs: [{ file: 'durations/parse.py', fixed: '_PART = re.compile(r"(\\d+)\\s*([dhms])")', buggy: '_PART = re.compile(r"(\\d+)\\s*([dhm])")' }],
    hidden: {
      file: 'tests/test_parse.py',
      tests: src`
class TestSeconds(unittest.TestCase):
    def test_seconds_alone(self):
        self.assertEqual(parse_duration("45s"), 45)

    def test_minutes_and_seconds(self):
        self.assertEqual(parse_duration("1m 30s"), 90)

    def test_round_trip(self):
        for seconds in [1, 59, 3601, 90061]:
            self.assertEqual(parse_duration(format_duration(seconds)), seconds)

    def test_upper_case_units(self):
        self.assertEqual(parse_duration("2H"), 7200)
`,
      failing: ['test_seconds_alone', 'test_minutes_and_seconds', 'test_round_trip'],
    },
  },
  {
    id: 'intervals-1',
    name: 'intervals',
    version: '0.5.0',
    description: 'Merge and measure numeric intervals.',
    usage: 'from intervals import merge, total_length\n\nmerge([(1, 3), (2, 6), (8, 9)])   # [(1, 6), (8, 9)]\ntotal_length([(1, 3), (2, 6)])    # 5',
    edits: 2,
    title: 'merge() misses touching intervals and depends on the input order',
    issue: `\`merge()\` only works for sorted input and does not merge intervals that touch:

~~~python
>>> from intervals import merge
>>> merge([(1, 3), (3, 5)])
[(1, 3), (3, 5)]
>>> merge([(6, 8), (1, 2)])
[(6, 8), (1, 2)]
>>> merge([(5, 7), (1, 2), (2, 6)])
[(5, 7), (1, 2), (2, 6)]
~~~

Expected \`[(1, 5)]\`, \`[(1, 2), (6, 8)]\` and \`[(1, 7)]\`: the docstring promises sorted, non-overlapping output, and intervals are closed, so \`(1, 3)\` and \`(3, 5)\` share the point 3. We feed it booking slots straight from the database, unsorted, and \`total_length()\` double-counts.`,
    files: {
      'intervals/__init__.py': src`
"""intervals: merge and measure numeric intervals."""
from .ops import merge, overlaps, total_length

__all__ = ["merge", "overlaps", "total_length"]
__version__ = "0.5.0"
`,
      'intervals/ops.py': src`
def _check(start, end):
    if start > end:
        raise ValueError("interval (%r, %r) ends before it starts" % (start, end))


def merge(intervals):
    """Sorted, non-overlapping closed intervals covering the same points as the input (any order)."""
    result = []
    for start, end in sorted(intervals):
        _check(start, end)
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def total_length(intervals):
    """The length of the union of the intervals."""
    return sum(end - start for start, end in merge(intervals))


def overlaps(a, b):
    """Whether two closed intervals share at least one point."""
    _check(*a)
    _check(*b)
    return a[0] <= b[1] and b[0] <= a[1]
`,
      'tests/test_ops.py': src`
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
`,
    },
    bugs: [
      { file: 'intervals/ops.py', fixed: 'for start, end in sorted(intervals):', buggy: 'for start, end in intervals:' },
      { file: 'intervals/ops.py', fixed: 'if result and start <= result[-1][1]:', buggy: 'if result and start < result[-1][1]:' },
    ],
    hidden: {
      file: 'tests/test_ops.py',
      tests: src`
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
`,
      failing: ['test_touching_intervals_merge', 'test_unsorted_input', 'test_unsorted_and_touching', 'test_total_length_of_unsorted'],
    },
  },
  {
    id: 'querystring-1',
    name: 'querystring',
    version: '0.7.0',
    description: 'Build and parse URL query strings.',
    usage: 'from querystring import build_query, parse_query\n\nbuild_query({"q": "fish & chips", "page": 2})   # "q=fish+%26+chips&page=2"\nparse_query("q=fish+%26+chips&page=2")         # {"q": "fish & chips", "page": "2"}',
    edits: 1,
    title: 'build_query() does not encode values (broken URLs with & or spaces)',
    issue: `Keys are percent-encoded but values are inserted as they are:

~~~python
>>> from querystring import build_query, parse_query
>>> build_query({"q": "fish & chips"})
'q=fish & chips'
>>> parse_query(build_query({"q": "fish & chips"}))
{'q': 'fish ', ' chips': ''}
~~~

Expected \`'q=fish+%26+chips'\`, which parses back to \`{'q': 'fish & chips'}\`. Any search term with \`&\`, \`=\`, \`#\` or a space produces a broken link. Values in lists (\`{"tag": ["a b", "c"]}\`) have the same problem.`,
    files: {
      'querystring/__init__.py': src`
"""querystring: build and parse URL query strings."""
from .query import build_query, parse_query

__all__ = ["build_query", "parse_query"]
__version__ = "0.7.0"
`,
      'querystring/query.py': src`
from urllib.parse import parse_qsl, quote_plus


def _pair(key, value):
    return "%s=%s" % (quote_plus(str(key)), quote_plus(str(value)))


def build_query(params):
    """A query string (without "?") of a mapping; list values repeat the key; None values are left out."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            parts.extend(_pair(key, item) for item in value)
        else:
            parts.append(_pair(key, value))
    return "&".join(parts)


def parse_query(text):
    """{key: value} of a query string (a leading "?" is ignored); a repeated key keeps its last value."""
    return dict(parse_qsl(text.lstrip("?"), keep_blank_values=True))
`,
      'tests/test_query.py': src`
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
`,
    },
    bugs: [{ file: 'querystring/query.py', fixed: 'quote_plus(str(key)), quote_plus(str(value)))', buggy: 'quote_plus(str(key)), value)' }],
    hidden: {
      file: 'tests/test_query.py',
      tests: src`
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
`,
      failing: ['test_value_with_ampersand_and_spaces', 'test_round_trip', 'test_list_values_are_encoded'],
    },
  },
  {
    id: 'roman-1',
    name: 'roman',
    version: '1.1.0',
    description: 'Convert between integers and Roman numerals.',
    usage: 'from roman import to_roman, from_roman\n\nto_roman(1994)          # "MCMXCIV"\nfrom_roman("MCMXCIV")   # 1994',
    edits: 2,
    title: 'Subtractive notation is not supported: 4 becomes "IIII", "IX" parses as 11',
    issue: `Both directions ignore subtractive notation:

~~~python
>>> from roman import to_roman, from_roman
>>> to_roman(4), to_roman(1994)
('IIII', 'MDCCCCLXXXXIIII')
>>> from_roman("IX"), from_roman("MCMXCIV")
(11, 2216)
~~~

Expected \`('IV', 'MCMXCIV')\` and \`(9, 1994)\`. Standard Roman numerals write 4, 9, 40, 90, 400 and 900 as IV, IX, XL, XC, CD and CM, and a smaller numeral before a larger one is subtracted. We use this for chapter numbers, and "Chapter IIII" looks wrong.`,
    files: {
      'roman/__init__.py': src`
"""roman: convert between integers and Roman numerals."""
from .numerals import from_roman, to_roman

__all__ = ["from_roman", "to_roman"]
__version__ = "1.1.0"
`,
      'roman/numerals.py': src`
_NUMERALS = [
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"),
    (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
    (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
]

_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def to_roman(number):
    """The Roman numeral of an integer from 1 to 3999."""
    if not isinstance(number, int) or not 0 < number < 4000:
        raise ValueError("only integers from 1 to 3999 have Roman numerals, got %r" % (number,))
    parts = []
    for value, numeral in _NUMERALS:
        count, number = divmod(number, value)
        parts.append(numeral * count)
    return "".join(parts)


def from_roman(text):
    """The integer of a Roman numeral (case-insensitive)."""
    s = text.strip().upper()
    if not s or any(ch not in _VALUES for ch in s):
        raise ValueError("not a Roman numeral: %r" % text)
    total = 0
    for i, ch in enumerate(s):
        value = _VALUES[ch]
        if i + 1 < len(s) and _VALUES[s[i + 1]] > value:
            total -= value
        else:
            total += value
    return total
`,
      'tests/test_numerals.py': src`
import unittest

from roman import from_roman, to_roman


class TestToRoman(unittest.TestCase):
    def test_additive(self):
        self.assertEqual(to_roman(3), "III")
        self.assertEqual(to_roman(2023), "MMXXIII")
        self.assertEqual(to_roman(1666), "MDCLXVI")

    def test_out_of_range(self):
        for bad in [0, -1, 4000, 2.5]:
            with self.assertRaises(ValueError, msg=bad):
                to_roman(bad)


class TestFromRoman(unittest.TestCase):
    def test_additive(self):
        self.assertEqual(from_roman("XII"), 12)
        self.assertEqual(from_roman("mdclxvi"), 1666)

    def test_invalid(self):
        with self.assertRaises(ValueError):
            from_roman("XIZ")
`,
    },
    bugs: [
      {
        file: 'roman/numerals.py',
        fixed: '    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"),\n    (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),\n    (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),\n',
        buggy: '    (1000, "M"), (500, "D"), (100, "C"), (50, "L"),\n    (10, "X"), (5, "V"), (1, "I"),\n',
      },
      {
        file: 'roman/numerals.py',
        fixed: '    for i, ch in enumerate(s):\n        value = _VALUES[ch]\n        if i + 1 < len(s) and _VALUES[s[i + 1]] > value:\n            total -= value\n        else:\n            total += value\n',
        buggy: '    for ch in s:\n        total += _VALUES[ch]\n',
      },
    ],
    hidden: {
      file: 'tests/test_numerals.py',
      tests: src`
class TestSubtractive(unittest.TestCase):
    def test_to_roman_subtractive(self):
        self.assertEqual(to_roman(4), "IV")
        self.assertEqual(to_roman(9), "IX")
        self.assertEqual(to_roman(1994), "MCMXCIV")

    def test_from_roman_subtractive(self):
        self.assertEqual(from_roman("IX"), 9)
        self.assertEqual(from_roman("MCMXCIV"), 1994)

    def test_round_trip(self):
        for n in range(1, 400):
            self.assertEqual(from_roman(to_roman(n)), n)

    def test_large_additive(self):
        self.assertEqual(to_roman(3888), "MMMDCCCLXXXVIII")
`,
      failing: ['test_to_roman_subtractive', 'test_from_roman_subtractive'],
    },
  },
  {
    id: 'eventbus-1',
    name: 'eventbus',
    version: '0.6.0',
    description: 'A tiny synchronous event emitter.',
    usage: 'from eventbus import Emitter\n\nbus = Emitter()\nbus.on("saved", lambda doc: print("saved", doc))\nbus.emit("saved", {"id": 1})',
    edits: 1,
    title: 'A handler registered after a once() handler is skipped on the first emit',
    issue: `When a \`once()\` handler runs, the handler registered right after it is not called:

~~~python
from eventbus import Emitter

calls = []
bus = Emitter()
bus.once("ready", lambda: calls.append("once"))
bus.on("ready", lambda: calls.append("always"))
bus.emit("ready")
print(calls)
~~~

Prints \`['once']\`; expected \`['once', 'always']\`. On the second \`emit\` the "always" handler runs normally. I suspect the list of handlers is modified (the once-handler removes itself) while \`emit()\` is iterating over it. The same happens when a handler calls \`off()\` on itself.`,
    files: {
      'eventbus/__init__.py': src`
"""eventbus: a tiny synchronous event emitter."""
from .emitter import Emitter

__all__ = ["Emitter"]
__version__ = "0.6.0"
`,
      'eventbus/emitter.py': src`
class Emitter:
    """Handlers per event name, called in the order they were added."""

    def __init__(self):
        self._handlers = {}

    def on(self, event, handler):
        self._handlers.setdefault(event, []).append(handler)
        return handler

    def off(self, event, handler):
        handlers = self._handlers.get(event, [])
        if handler in handlers:
            handlers.remove(handler)

    def once(self, event, handler):
        """Adds a handler that removes itself after its first call."""

        def wrapper(*args, **kwargs):
            self.off(event, wrapper)
            return handler(*args, **kwargs)

        return self.on(event, wrapper)

    def emit(self, event, *args, **kwargs):
        """Calls the event's handlers with the arguments; returns how many were called."""
        called = 0
        for handler in list(self._handlers.get(event, [])):
            handler(*args, **kwargs)
            called += 1
        return called

    def listeners(self, event):
        return list(self._handlers.get(event, []))
`,
      'tests/test_emitter.py': src`
import unittest

from eventbus import Emitter


class TestEmitter(unittest.TestCase):
    def test_handlers_get_arguments_in_order(self):
        bus = Emitter()
        seen = []
        bus.on("x", lambda v: seen.append(("first", v)))
        bus.on("x", lambda v: seen.append(("second", v)))
        self.assertEqual(bus.emit("x", 1), 2)
        self.assertEqual(seen, [("first", 1), ("second", 1)])

    def test_off(self):
        bus = Emitter()
        seen = []
        handler = bus.on("x", lambda: seen.append(1))
        bus.off("x", handler)
        self.assertEqual(bus.emit("x"), 0)
        self.assertEqual(seen, [])

    def test_once_runs_once(self):
        bus = Emitter()
        seen = []
        bus.once("x", lambda: seen.append(1))
        bus.emit("x")
        bus.emit("x")
        self.assertEqual(seen, [1])

    def test_unknown_event(self):
        self.assertEqual(Emitter().emit("nothing"), 0)
`,
    },
    bugs: [{ file: 'eventbus/emitter.py', fixed: 'for handler in list(self._handlers.get(event, [])):', buggy: 'for handler in self._handlers.get(event, []):' }],
    hidden: {
      file: 'tests/test_emitter.py',
      tests: src`
class TestRemovalDuringEmit(unittest.TestCase):
    def test_handler_after_once_is_called(self):
        bus = Emitter()
        calls = []
        bus.once("ready", lambda: calls.append("once"))
        bus.on("ready", lambda: calls.append("always"))
        self.assertEqual(bus.emit("ready"), 2)
        self.assertEqual(calls, ["once", "always"])

    def test_handler_removing_itself(self):
        bus = Emitter()
        calls = []

        def first():
            calls.append("first")
            bus.off("x", first)

        bus.on("x", first)
        bus.on("x", lambda: calls.append("second"))
        bus.emit("x")
        self.assertEqual(calls, ["first", "second"])

    def test_listeners_after_once(self):
        bus = Emitter()
        bus.once("x", lambda: None)
        bus.emit("x")
        self.assertEqual(bus.listeners("x"), [])
`,
      failing: ['test_handler_after_once_is_called', 'test_handler_removing_itself'],
    },
  },
  {
    id: 'tabletext-1',
    name: 'tabletext',
    version: '0.3.0',
    description: 'Render rows as an aligned plain-text table.',
    usage: 'from tabletext import render_table\n\nprint(render_table(["name", "qty"], [["apple", 3], ["kiwi", 12]]))',
    edits: 1,
    title: 'Columns are misaligned when a header is wider than its values; empty tables crash',
    issue: `Column widths only look at the cells, not at the header:

~~~python
>>> from tabletext import render_table
>>> print(render_table(["fruit", "quantity"], [["fig", 3]]))
fruit | quantity
----- | -
fig   | 3
~~~

Expected:

~~~
fruit | quantity
----- | --------
fig   |        3
~~~

And with no rows at all, \`render_table(["a", "b"], [])\` raises \`ValueError: max() arg is an empty sequence\` instead of printing just the header and the rule. We print reports that are sometimes empty, so this crashes a nightly job.`,
    files: {
      'tabletext/__init__.py': src`
"""tabletext: render rows as an aligned plain-text table."""
from .render import render_table

__all__ = ["render_table"]
__version__ = "0.3.0"
`,
      'tabletext/render.py': src`
def _cell(value):
    if isinstance(value, float):
        return "%.2f" % value
    return str(value)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def render_table(headers, rows, sep=" | "):
    """A table: the header line, a rule of dashes, then one line per row.

    Each column is as wide as its widest cell or header; numbers are right-aligned, everything else
    left-aligned.
    """
    for row in rows:
        if len(row) != len(headers):
            raise ValueError("row %r has %d cells, expected %d" % (row, len(row), len(headers)))
    widths = [max([len(headers[i])] + [len(_cell(row[i])) for row in rows]) for i in range(len(headers))]
    lines = [sep.join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append(sep.join("-" * w for w in widths))
    for row in rows:
        cells = [_cell(v).rjust(w) if _is_number(v) else _cell(v).ljust(w) for v, w in zip(row, widths)]
        lines.append(sep.join(cells).rstrip())
    return "\n".join(lines)
`,
      'tests/test_render.py': src`
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
`,
    },
    bugs: [
      {
        file: 'tabletext/render.py',
        fixed: 'widths = [max([len(headers[i])] + [len(_cell(row[i])) for row in rows]) for i in range(len(headers))]',
        buggy: 'widths = [max(len(_cell(row[i])) for row in rows) for i in range(len(headers))]',
      },
    ],
    hidden: {
      file: 'tests/test_render.py',
      tests: src`
class TestHeaderWidth(unittest.TestCase):
    def test_header_wider_than_cells(self):
        text = render_table(["fruit", "quantity"], [["fig", 3]])
        self.assertEqual(text, "fruit | quantity\n----- | --------\nfig   |        3")

    def test_empty_table(self):
        self.assertEqual(render_table(["a", "b"], []), "a | b\n- | -")

    def test_booleans_are_left_aligned(self):
        self.assertEqual(render_table(["flag"], [[True]]), "flag\n----\nTrue")
`,
      failing: ['test_header_wider_than_cells', 'test_empty_table'],
    },
  },
  {
    id: 'layered-1',
    name: 'layered',
    version: '0.8.1',
    description: 'Layered configuration: defaults, files and environment variables merged into one dict.',
    usage: 'from layered import deep_merge, from_env\n\nconfig = deep_merge(DEFAULTS, from_env("APP", os.environ))',
    edits: 2,
    title: 'deep_merge() result shares lists/dicts with its inputs: changing the config changes DEFAULTS',
    issue: `After merging, mutating the result also mutates the inputs:

~~~python
from layered import deep_merge

DEFAULTS = {"plugins": ["core"], "db": {"host": "localhost"}}
user = {"db": {"port": 5433}, "extra": {"tags": ["a"]}}

config = deep_merge(DEFAULTS, user)
config["plugins"].append("debug-toolbar")
config["extra"]["tags"].append("b")

print(DEFAULTS["plugins"])   # ['core', 'debug-toolbar']  <- DEFAULTS changed!
print(user["extra"]["tags"])  # ['a', 'b']                 <- and so did the user's layer
~~~

In our test suite, one test enabling a plugin leaks into every later test because the module-level \`DEFAULTS\` is modified. The docstring says \`deep_merge\` "returns a new dict and never changes its arguments"; I would expect the result to share no mutable values with \`base\` or \`override\`.`,
    files: {
      'layered/__init__.py': src`
"""layered: layered configuration."""
from .env import from_env
from .merge import deep_merge

__all__ = ["deep_merge", "from_env"]
__version__ = "0.8.1"
`,
      'layered/merge.py': src`
import copy


def deep_merge(base, override):
    """base updated by override, recursively for dicts present in both.

    Returns a new dict and never changes its arguments: the result shares no mutable value with them.
    """
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
`,
      'layered/env.py': src`
def _coerce(text):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        return text


def from_env(prefix, environ):
    """Nested settings from variables PREFIX__A__B=value -> {"a": {"b": value}} (ints and booleans converted)."""
    result = {}
    start = prefix + "__"
    for name in sorted(environ):
        if not name.startswith(start):
            continue
        path = [part.lower() for part in name[len(start):].split("__") if part]
        if not path:
            continue
        node = result
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _coerce(environ[name])
    return result
`,
      'tests/test_layered.py': src`
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
`,
    },
    bugs: [
      { file: 'layered/merge.py', fixed: 'result = copy.deepcopy(base)', buggy: 'result = dict(base)' },
      { file: 'layered/merge.py', fixed: 'result[key] = copy.deepcopy(value)', buggy: 'result[key] = value' },
    ],
    hidden: {
      file: 'tests/test_layered.py',
      tests: src`
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
`,
      failing: ['test_base_list_is_not_shared', 'test_override_value_is_not_shared', 'test_untouched_nested_dict_is_not_shared'],
    },
  },
  {
    id: 'invoicer-1',
    name: 'invoicer',
    version: '0.2.3',
    description: 'Invoice lines and totals in integer cents.',
    usage: 'from invoicer import Invoice\n\ninv = Invoice()\ninv.add("Coffee beans", "19.99", quantity=2)\ninv.total_text()   # "39.98"',
    edits: 2,
    title: 'Totals off by one cent (19.99 becomes 19.98) and refunds print as -1.95 instead of -0.05',
    issue: `Two money bugs showed up in last month's invoices:

~~~python
>>> from invoicer import to_cents, format_cents
>>> to_cents("19.99")
1998
>>> to_cents(0.29)
28
>>> format_cents(-5)
'-1.95'
~~~

1. \`to_cents\` should give \`1999\` and \`29\`: amounts are rounded to the nearest cent (half up), not truncated. A customer noticed their invoice was a cent short on every line.
2. \`format_cents(-5)\` should be \`'-0.05'\` (and \`format_cents(-1999)\` \`'-19.99'\`). Refund lines show absurd amounts.

invoicer 0.2.3 on Python 3.11.`,
    files: {
      'invoicer/__init__.py': src`
"""invoicer: invoice lines and totals in integer cents."""
from .invoice import Invoice
from .money import format_cents, to_cents

__all__ = ["Invoice", "format_cents", "to_cents"]
__version__ = "0.2.3"
`,
      'invoicer/money.py': src`
from decimal import ROUND_HALF_UP, Decimal


def to_cents(amount):
    """Integer cents of an amount in currency units (str, int, float or Decimal), rounded half up."""
    value = Decimal(str(amount)) * 100
    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def format_cents(cents):
    """Text of an amount in cents: 1234 -> "12.34"; negative amounts get a leading "-"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return "%s%d.%02d" % (sign, whole, part)
`,
      'invoicer/invoice.py': src`
from .money import format_cents, to_cents


class Invoice:
    def __init__(self):
        self.lines = []

    def add(self, description, unit_price, quantity=1):
        """Adds a line; unit_price in currency units (e.g. "19.99"). Returns the line total in cents."""
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        total = to_cents(unit_price) * quantity
        self.lines.append((description, quantity, total))
        return total

    def total(self):
        return sum(line[2] for line in self.lines)

    def total_text(self):
        return format_cents(self.total())
`,
      'tests/test_invoice.py': src`
import unittest

from invoicer import Invoice, format_cents, to_cents


class TestMoney(unittest.TestCase):
    def test_whole_amounts(self):
        self.assertEqual(to_cents(10), 1000)
        self.assertEqual(to_cents("2.50"), 250)

    def test_format(self):
        self.assertEqual(format_cents(1999), "19.99")
        self.assertEqual(format_cents(5), "0.05")
        self.assertEqual(format_cents(0), "0.00")


class TestInvoice(unittest.TestCase):
    def test_total(self):
        inv = Invoice()
        inv.add("Tea", "4.50", quantity=2)
        inv.add("Mug", 7)
        self.assertEqual(inv.total(), 1600)
        self.assertEqual(inv.total_text(), "16.00")

    def test_quantity_must_be_positive(self):
        with self.assertRaises(ValueError):
            Invoice().add("Nothing", "1.00", quantity=0)
`,
    },
    bugs: [
      {
        file: 'invoicer/money.py',
        fixed: '    value = Decimal(str(amount)) * 100\n    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))\n',
        buggy: '    return int(float(amount) * 100)\n',
      },
      {
        file: 'invoicer/money.py',
        fixed: '    sign = "-" if cents < 0 else ""\n    whole, part = divmod(abs(cents), 100)\n    return "%s%d.%02d" % (sign, whole, part)\n',
        buggy: '    whole, part = divmod(cents, 100)\n    return "%d.%02d" % (whole, part)\n',
      },
    ],
    hidden: {
      file: 'tests/test_invoice.py',
      tests: src`
class TestCents(unittest.TestCase):
    def test_rounding_to_nearest_cent(self):
        self.assertEqual(to_cents("19.99"), 1999)
        self.assertEqual(to_cents(0.29), 29)
        self.assertEqual(to_cents("0.125"), 13)

    def test_negative_amounts(self):
        self.assertEqual(format_cents(-5), "-0.05")
        self.assertEqual(format_cents(-1999), "-19.99")

    def test_invoice_of_odd_prices(self):
        inv = Invoice()
        inv.add("Coffee beans", "19.99", quantity=2)
        self.assertEqual(inv.total_text(), "39.98")

    def test_large_amount(self):
        self.assertEqual(format_cents(123456789), "1234567.89")
`,
      failing: ['test_rounding_to_nearest_cent', 'test_negative_amounts', 'test_invoice_of_odd_prices'],
    },
  },
  {
    id: 'textstats-1',
    name: 'textstats',
    version: '0.1.4',
    description: 'Word counts and simple text statistics.',
    usage: 'from textstats import word_counts, top_words\n\ntop_words("the cat and the hat", 1)   # [("the", 2)]',
    edits: 2,
    title: 'word_counts() splits contractions and counts "Don\'t" apart from "don\'t"',
    issue: `\`word_counts()\` treats apostrophes as separators and is case-sensitive:

~~~python
>>> from textstats import word_counts
>>> word_counts("Don't stop. don't!")
Counter({'t': 2, 'Don': 1, 'stop': 1, 'don': 1})
~~~

Expected \`Counter({"don't": 2, 'stop': 1})\`: the README says words are compared case-insensitively and that contractions (\`don't\`, \`it's\`) are one word. \`top_words()\` is affected too, so our "most common words" report is full of \`t\` and \`s\`.`,
    files: {
      'textstats/__init__.py': src`
"""textstats: word counts and simple text statistics."""
from .counts import top_words, word_counts, words

__all__ = ["top_words", "word_counts", "words"]
__version__ = "0.1.4"
`,
      'textstats/counts.py': src`
import re
from collections import Counter

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def words(text):
    """The words of a text, lower-cased; a contraction such as "don't" is one word."""
    return _WORD.findall(text.lower())


def word_counts(text):
    """A Counter of the words of a text (see words())."""
    return Counter(words(text))


def top_words(text, n):
    """The n most common words with their counts, ties broken alphabetically."""
    counts = word_counts(text)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
`,
      'tests/test_counts.py': src`
import unittest

from textstats import top_words, word_counts


class TestCounts(unittest.TestCase):
    def test_simple_counts(self):
        self.assertEqual(word_counts("the cat and the hat"), {"the": 2, "cat": 1, "and": 1, "hat": 1})

    def test_punctuation_separates(self):
        self.assertEqual(word_counts("red,green;blue"), {"red": 1, "green": 1, "blue": 1})

    def test_top_words_ties_are_alphabetical(self):
        self.assertEqual(top_words("b a c a b", 2), [("a", 2), ("b", 2)])
`,
    },
    bugs: [
      { file: 'textstats/counts.py', fixed: `_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")`, buggy: `_WORD = re.compile(r"[A-Za-z0-9]+")` },
      { file: 'textstats/counts.py', fixed: 'return _WORD.findall(text.lower())', buggy: 'return _WORD.findall(text)' },
    ],
    hidden: {
      file: 'tests/test_counts.py',
      tests: src`
class TestWords(unittest.TestCase):
    def test_contractions_are_one_word(self):
        self.assertEqual(word_counts("it's fine, isn't it"), {"it's": 1, "fine": 1, "isn't": 1, "it": 1})

    def test_case_is_ignored(self):
        self.assertEqual(word_counts("Don't stop. don't!"), {"don't": 2, "stop": 1})

    def test_top_words_of_mixed_case(self):
        self.assertEqual(top_words("The end. THE END. the", 1), [("the", 3)])

    def test_quotes_are_not_words(self):
        self.assertEqual(word_counts("'hello'"), {"hello": 1})
`,
      failing: ['test_contractions_are_one_word', 'test_case_is_ignored', 'test_top_words_of_mixed_case'],
    },
  },
];

// -------------------------------------------------------------------------------------------
// Rendering
// -------------------------------------------------------------------------------------------

/** The family sentence (family.json `task`). */
export const MINI_SWE_TASK =
  'Fix a bug in a small pure-Python repository, described by a GitHub-style issue; hidden unittest tests (the failing tests of the fix and the existing tests as regression tests) decide whether it is resolved.';

/** family.json `source`. */
export const MINI_SWE_SOURCE =
  'Written by the Uplift project (examples/datasets/mini-swe/generate.ts): invented repositories, bugs and issues in the style of SWE-bench; no third-party code.';

/** Replaces the one occurrence of `find` in `text`; throws when there is none or more than one (a generator bug). */
function replaceOnce(text: string, find: string, by: string, where: string): string {
  const i = text.indexOf(find);
  if (i < 0 || text.indexOf(find, i + 1) >= 0) throw new Error(`${where}: the fixed text ${JSON.stringify(find)} must occur exactly once (found ${i < 0 ? 0 : 'several'})`);
  return text.slice(0, i) + by + text.slice(i + find.length);
}

/**
 * A unified diff of one file (`a/<path>` → `b/<path>`, 3 lines of context), from a longest common
 * subsequence of lines; empty when the texts are equal. Both texts end with a newline.
 */
export function unifiedDiff(path: string, before: string, after: string): string {
  if (before === after) return '';
  const a = before.split('\n').slice(0, -1);
  const b = after.split('\n').slice(0, -1);
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: length of the LCS of a[i..] and b[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: { op: ' ' | '-' | '+'; line: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ op: ' ', line: a[i], ai: i++, bi: j++ });
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push({ op: '-', line: a[i], ai: i++, bi: j });
    else ops.push({ op: '+', line: b[j], ai: i, bi: j++ });
  }
  const CONTEXT = 3;
  const changed = ops.flatMap((o, k) => (o.op === ' ' ? [] : [k]));
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const from = Math.max(0, k - CONTEXT);
    const to = Math.min(ops.length - 1, k + CONTEXT);
    const last = hunks[hunks.length - 1];
    if (last && from <= last[1] + 1) last[1] = to;
    else hunks.push([from, to]);
  }
  const out = [`diff --git a/${path} b/${path}`, `--- a/${path}`, `+++ b/${path}`];
  for (const [from, to] of hunks) {
    const part = ops.slice(from, to + 1);
    const oldLen = part.filter((o) => o.op !== '+').length;
    const newLen = part.filter((o) => o.op !== '-').length;
    const oldStart = oldLen ? part[0].ai + 1 : part[0].ai;
    const newStart = newLen ? part[0].bi + 1 : part[0].bi;
    out.push(`@@ -${oldStart},${oldLen} +${newStart},${newLen} @@`, ...part.map((o) => o.op + o.line));
  }
  return out.join('\n') + '\n';
}

/** Test ids (`module.Class.test_name`) of a unittest module's text, in file order. */
export function testIdsOf(file: string, text: string): string[] {
  const module = file.replace(/\.py$/, '').split('/').join('.');
  const ids: string[] = [];
  let cls: string | undefined;
  for (const line of text.split('\n')) {
    const c = /^class (\w+)\(unittest\.TestCase\):/.exec(line);
    if (c) cls = c[1];
    else if (/^\S/.test(line)) cls = undefined;
    const t = /^ {4}def (test_\w+)\(self\)/.exec(line);
    if (t && cls) ids.push(`${module}.${cls}.${t[1]}`);
  }
  return ids;
}

function readme(r: MiniRepo): string {
  return `# ${r.name}\n\n${r.description}\n\n~~~python\n${r.usage}\n~~~\n\nRun the tests with \`python3 -m unittest\` (standard library only, Python 3.8+).\n`;
}

function pyproject(r: MiniRepo): string {
  return `[project]\nname = "${r.name}"\nversion = "${r.version}"\ndescription = "${r.description}"\nrequires-python = ">=3.8"\n`;
}

/** One task's files, relative to its folder `tasks/<id>/`. */
function renderTask(r: MiniRepo): Record<string, string> {
  const fixed: Record<string, string> = { 'README.md': readme(r), 'pyproject.toml': pyproject(r), 'tests/__init__.py': '', ...r.files };
  const workspace = { ...fixed };
  for (const bug of r.bugs) workspace[bug.file] = replaceOnce(workspace[bug.file], bug.fixed, bug.buggy, `${r.id}: ${bug.file}`);
  const hiddenTests = Object.fromEntries(Object.entries(fixed).filter(([p]) => p.startsWith('tests/')));
  if (!(r.hidden.file in hiddenTests)) throw new Error(`${r.id}: hidden.file ${r.hidden.file} is not a test module of the repository`);
  hiddenTests[r.hidden.file] = `${hiddenTests[r.hidden.file]}\n\n${r.hidden.tests}`;
  const newClass = /^class (\w+)\(/m.exec(r.hidden.tests)?.[1];
  const module = r.hidden.file.replace(/\.py$/, '').split('/').join('.');
  const failToPass = r.hidden.failing.map((t) => `${module}.${newClass}.${t}`);
  const all = Object.entries(hiddenTests)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([p, text]) => testIdsOf(p, text));
  for (const id of failToPass) if (!all.includes(id)) throw new Error(`${r.id}: failing test ${id} is not in the hidden tests`);
  const passToPass = all.filter((id) => !failToPass.includes(id));
  const task = {
    instructions: `# ${r.title}\n\n${r.issue}\n\n---\n${WORKING_LINE}\n`,
    score: { command: ['python3', '-m', 'unittest', ...failToPass, ...passToPass], timeoutSeconds: 60 },
    failToPass,
    passToPass,
  };
  const patch = [...new Set(r.bugs.map((b) => b.file))]
    .sort()
    .map((f) => unifiedDiff(f, workspace[f], fixed[f]))
    .join('');
  const out: Record<string, string> = { 'task.json': JSON.stringify(task, null, 2) + '\n', 'reference.patch': patch };
  for (const [p, text] of Object.entries(workspace)) out[`workspace/${p}`] = text;
  for (const [p, text] of Object.entries(hiddenTests)) out[`hidden/${p}`] = text;
  return out;
}

/** The data set's files (family.json, splits.json, tasks/…), relative to its folder, exactly as written. */
export function renderMiniSwe(): Record<string, string> {
  const { dev, test } = stratifiedSplit(REPOS, (r) => `${r.edits}`, 1, 0.3);
  const files: Record<string, string> = {
    'family.json': JSON.stringify({ task: MINI_SWE_TASK, source: MINI_SWE_SOURCE }, null, 2) + '\n',
    'splits.json': JSON.stringify({ dev: dev.map((r) => r.id), test: test.map((r) => r.id) }, null, 2) + '\n',
  };
  for (const r of REPOS) for (const [p, text] of Object.entries(renderTask(r))) files[`tasks/${r.id}/${p}`] = text;
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Rewrites the data set in `dir`: family.json, splits.json and tasks/ (removed first); README.md and this file are kept. */
export function writeMiniSwe(dir: string): number {
  rmSync(join(dir, 'tasks'), { recursive: true, force: true });
  const files = renderMiniSwe();
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return REPOS.length;
}

if (require.main === module) {
  const n = writeMiniSwe(__dirname);
  console.log(`wrote family.json, splits.json and ${n} tasks to ${__dirname}`);
}
