import re

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

_PART = re.compile(r"(\d+)\s*([dhm])")


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
