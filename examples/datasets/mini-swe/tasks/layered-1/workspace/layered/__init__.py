"""layered: layered configuration."""
from .env import from_env
from .merge import deep_merge

__all__ = ["deep_merge", "from_env"]
__version__ = "0.8.1"
