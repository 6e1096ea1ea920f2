def _cell(value):
    if isinstance(value, float):
        return "%.2f" % value
    return str(value)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def render_table(headers, rows, sep=" | "):
    """A table: the header line, a rule of dashes, then one line per row.

    Each column is as wide as its widest cell or header; numbers are right-aligned, everything else
    left-aligned.
    """
    for row in rows:
        if len(row) != len(headers):
            raise ValueError("row %r has %d cells, expected %d" % (row, len(row), len(headers)))
    widths = [max(len(_cell(row[i])) for row in rows) for i in range(len(headers))]
    lines = [sep.join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append(sep.join("-" * w for w in widths))
    for row in rows:
        cells = [_cell(v).rjust(w) if _is_number(v) else _cell(v).ljust(w) for v, w in zip(row, widths)]
        lines.append(sep.join(cells).rstrip())
    return "\n".join(lines)
