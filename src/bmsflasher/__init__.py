"""bmsflasher: diagnose smart battery management systems and update their firmware safely."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("bmsflasher")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
