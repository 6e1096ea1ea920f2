"""querystring: build and parse URL query strings."""
from .query import build_query, parse_query

__all__ = ["build_query", "parse_query"]
__version__ = "0.7.0"
