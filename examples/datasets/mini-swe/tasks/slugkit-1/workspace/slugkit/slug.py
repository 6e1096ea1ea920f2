import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text, sep="-", max_length=None):
    """Turn text into a URL slug: lower-case ASCII words joined by sep.

    Accents are dropped ("é" becomes "e"); every run of other characters becomes one separator.
    With max_length, the slug is cut to at most that many characters (never ending in sep).
    """
    normalized = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_WORD.sub(sep, normalized.lower())
    if max_length is not None and len(slug) > max_length:
        slug = slug[:max_length].rstrip(sep)
    return slug
