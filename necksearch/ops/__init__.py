"""Neck node operations: one registry, every component of A²-FPN, FPT, MSSA/MSCA and AugFPN.

The package imports lazily: ``necksearch.ops.record`` and ``necksearch.ops.slot`` (the torch-free records and
slots) load without torch, and the first use of a registry name below imports torch and registers every
operation.
"""
import importlib
from typing import Any

_EXPORTS = {"OPS": "registry", "OpSpec": "registry", "build_op": "registry", "get_op": "registry",
            "list_ops": "registry", "register_op": "registry", "SLOTS": "slot"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'necksearch.ops' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"necksearch.ops.{_EXPORTS[name]}"), name)
    importlib.import_module("necksearch.ops.families")  # importing the families registers every op
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
