"""roman: convert between integers and Roman numerals."""
from .numerals import from_roman, to_roman

__all__ = ["from_roman", "to_roman"]
__version__ = "1.1.0"
