from urllib.parse import parse_qsl, quote_plus


def _pair(key, value):
    return "%s=%s" % (quote_plus(str(key)), value)


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
