"""semverlite: parse and compare semantic versions."""
from .version import Version, max_version

__all__ = ["Version", "max_version"]
__version__ = "0.4.2"
