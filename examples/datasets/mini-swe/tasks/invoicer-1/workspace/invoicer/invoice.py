from .money import format_cents, to_cents


class Invoice:
    def __init__(self):
        self.lines = []

    def add(self, description, unit_price, quantity=1):
        """Adds a line; unit_price in currency units (e.g. "19.99"). Returns the line total in cents."""
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        total = to_cents(unit_price) * quantity
        self.lines.append((description, quantity, total))
        return total

    def total(self):
        return sum(line[2] for line in self.lines)

    def total_text(self):
        return format_cents(self.total())
