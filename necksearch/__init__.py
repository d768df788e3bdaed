"""necksearch: neural architecture search over detection-neck operations."""

__version__ = "0.1.0"
