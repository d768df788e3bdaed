"""necksearch: neural architecture search over detection-neck operations."""

__version__ = "0.1.0"

# Entry points loaded on first use, so that ``import necksearch`` stays light (no YAML, no torch).
_LAZY = {
    "load_space": "necksearch.space",
    "load_preset": "necksearch.graph.presets",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'necksearch' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
