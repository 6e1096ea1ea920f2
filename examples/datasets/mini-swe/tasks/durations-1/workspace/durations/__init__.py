"""durations: parse and format human-readable durations."""
from .parse import UNITS, format_duration, parse_duration

__all__ = ["UNITS", "format_duration", "parse_duration"]
__version__ = "1.0.3"
