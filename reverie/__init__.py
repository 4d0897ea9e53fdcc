"""reverie: psychodynamic therapy implemented as software.

The package is laid out by layer (see docs/architecture.md). Importing it loads nothing
heavy: models, databases and settings are created by the caller and passed down.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
