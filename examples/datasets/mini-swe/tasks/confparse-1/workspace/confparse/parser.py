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
    key, value = stripped.split("=")
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
