_NUMERALS = [
    (1000, "M"), (500, "D"), (100, "C"), (50, "L"),
    (10, "X"), (5, "V"), (1, "I"),
]

_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def to_roman(number):
    """The Roman numeral of an integer from 1 to 3999."""
    if not isinstance(number, int) or not 0 < number < 4000:
        raise ValueError("only integers from 1 to 3999 have Roman numerals, got %r" % (number,))
    parts = []
    for value, numeral in _NUMERALS:
        count, number = divmod(number, value)
        parts.append(numeral * count)
    return "".join(parts)


def from_roman(text):
    """The integer of a Roman numeral (case-insensitive)."""
    s = text.strip().upper()
    if not s or any(ch not in _VALUES for ch in s):
        raise ValueError("not a Roman numeral: %r" % text)
    total = 0
    for ch in s:
        total += _VALUES[ch]
    return total
