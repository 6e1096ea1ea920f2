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
