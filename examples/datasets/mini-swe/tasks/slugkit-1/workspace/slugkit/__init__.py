"""slugkit: URL slugs from titles."""
from .slug import slugify
from .unique import unique_slug

__all__ = ["slugify", "unique_slug"]
__version__ = "0.3.1"
