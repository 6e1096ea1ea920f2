"""lrucache: a least-recently-used cache."""
from .cache import LRUCache

__all__ = ["LRUCache"]
__version__ = "2.0.1"
