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
