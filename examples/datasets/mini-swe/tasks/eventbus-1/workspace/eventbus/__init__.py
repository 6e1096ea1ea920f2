"""eventbus: a tiny synchronous event emitter."""
from .emitter import Emitter

__all__ = ["Emitter"]
__version__ = "0.6.0"
