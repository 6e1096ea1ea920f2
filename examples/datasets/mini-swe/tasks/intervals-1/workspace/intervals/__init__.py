"""intervals: merge and measure numeric intervals."""
from .ops import merge, overlaps, total_length

__all__ = ["merge", "overlaps", "total_length"]
__version__ = "0.5.0"
