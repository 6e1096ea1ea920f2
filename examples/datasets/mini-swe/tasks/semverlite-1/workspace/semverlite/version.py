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
        return cls(m.group(1), m.group(2), m.group(3), m.group(4) or "")

    def _key(self):
        return (self.major, self.minor, self.patch, self.prerelease)

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
