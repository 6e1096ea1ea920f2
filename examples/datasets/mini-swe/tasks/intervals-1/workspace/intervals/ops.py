def _check(start, end):
    if start > end:
        raise ValueError("interval (%r, %r) ends before it starts" % (start, end))


def merge(intervals):
    """Sorted, non-overlapping closed intervals covering the same points as the input (any order)."""
    result = []
    for start, end in intervals:
        _check(start, end)
        if result and start < result[-1][1]:
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
