"""tabletext: render rows as an aligned plain-text table."""
from .render import render_table

__all__ = ["render_table"]
__version__ = "0.3.0"
