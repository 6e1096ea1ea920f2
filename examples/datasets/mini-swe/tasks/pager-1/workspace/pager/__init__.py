"""pager: pagination of sequences."""
from .paginator import EmptyPage, Page, Paginator

__all__ = ["EmptyPage", "Page", "Paginator"]
__version__ = "0.9.0"
