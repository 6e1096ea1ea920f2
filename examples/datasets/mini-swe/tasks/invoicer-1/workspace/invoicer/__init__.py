"""invoicer: invoice lines and totals in integer cents."""
from .invoice import Invoice
from .money import format_cents, to_cents

__all__ = ["Invoice", "format_cents", "to_cents"]
__version__ = "0.2.3"
