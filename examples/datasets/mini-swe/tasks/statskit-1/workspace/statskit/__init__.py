"""statskit: descriptive statistics for lists of numbers."""
from .core import StatisticsError, mean, median, spread

__all__ = ["StatisticsError", "mean", "median", "spread"]
__version__ = "0.2.0"
