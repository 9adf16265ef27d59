"""The client's version (sent in the user agent; pyproject.toml carries the same number)."""
__version__ = "0.1.0"
