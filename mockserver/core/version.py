"""The package's version, in a leaf: the shell reads it without importing the package root."""

from __future__ import annotations

from typing import Final

__all__ = ["__version__"]

__version__: Final = "0.1.0"
