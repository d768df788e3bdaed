"""Neck node operations: one registry, every component of A²-FPN, FPT, MSSA/MSCA and AugFPN.

Each operation's record (slot, paper, hyper-parameters) lives in the torch-free catalogue
(:mod:`necksearch.catalogue`). The package imports lazily: the first use of a registry name below imports torch
and registers every operation.
"""
import importlib
from typing import Any

_EXPORTS = {"OPS": "registry", "OpSpec": "registry", "register_op": "registry", "build_op": "families",
            "get_op": "families", "list_ops": "families"}

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
