from decimal import ROUND_HALF_UP, Decimal


def to_cents(amount):
    """Integer cents of an amount in currency units (str, int, float or Decimal), rounded half up."""
    return int(float(amount) * 100)


def format_cents(cents):
    """Text of an amount in cents: 1234 -> "12.34"; negative amounts get a leading "-"."""
    whole, part = divmod(cents, 100)
    return "%d.%02d" % (whole, part)
