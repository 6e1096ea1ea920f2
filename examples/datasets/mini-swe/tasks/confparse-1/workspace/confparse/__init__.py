"""confparse: a small INI-style configuration parser."""
from .parser import ConfigError, parse, parse_line

__all__ = ["ConfigError", "parse", "parse_line"]
__version__ = "1.2.0"
