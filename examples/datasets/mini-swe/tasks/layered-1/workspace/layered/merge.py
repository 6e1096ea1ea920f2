import copy


def deep_merge(base, override):
    """base updated by override, recursively for dicts present in both.

    Returns a new dict and never changes its arguments: the result shares no mutable value with them.
    """
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result
