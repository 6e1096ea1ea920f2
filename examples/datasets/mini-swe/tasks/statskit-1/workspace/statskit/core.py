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
    values = _values(data, "median")
    mid = len(values) // 2
    return values[mid]


def spread(data):
    """max - min."""
    values = _values(data, "spread")
    return max(values) - min(values)
