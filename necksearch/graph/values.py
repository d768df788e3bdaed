"""Immutable, JSON-shaped values for graph fields: frozen argument mappings and checked scalars."""
from __future__ import annotations

import math
from typing import Any, Iterator, Mapping, Optional, Tuple

from necksearch.graph.errors import field_error


class FrozenArgs(Mapping[str, Any]):
    """A hashable mapping with sorted string keys whose lists are tuples and mappings are ``FrozenArgs``."""

    __slots__ = ("_dict",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._dict = dict(sorted((items or {}).items()))

    def __getitem__(self, key: str) -> Any:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __hash__(self) -> int:
        return hash(tuple(self._dict.items()))

    def __repr__(self) -> str:
        return f"FrozenArgs({self._dict!r})"


def freeze(value: Any, where: str, field: str) -> Any:
    """A JSON value made immutable (lists → tuples, mappings → ``FrozenArgs``), or ``GraphError``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise field_error(where, field, f"values must be finite, got {value!r}")
        return value
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item, where, field) for item in value)
    if isinstance(value, Mapping):
        return freeze_mapping(value, where, field)
    raise field_error(where, field, f"values must be JSON scalars, lists or mappings, got {type(value).__name__}")


def freeze_mapping(value: Any, where: str, field: str) -> FrozenArgs:
    """``value`` (a mapping with string keys) as a ``FrozenArgs``, or ``GraphError``."""
    if not isinstance(value, Mapping):
        raise field_error(where, field, f"expected a mapping, got {type(value).__name__}")
    bad = [key for key in value if not isinstance(key, str)]
    if bad:
        raise field_error(where, field, f"keys must be strings, got {bad[0]!r}")
    return FrozenArgs({key: freeze(item, where, field) for key, item in value.items()})


def thaw(value: Any) -> Any:
    """The plain JSON value of a frozen one (tuples → lists, ``FrozenArgs`` → dict)."""
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    if isinstance(value, FrozenArgs):
        return {key: thaw(item) for key, item in value.items()}
    return value


def check_str(value: Any, where: str, field: str) -> str:
    """``value`` if it is a string, else ``GraphError``."""
    if not isinstance(value, str):
        raise field_error(where, field, f"expected a string, got {type(value).__name__}")
    return value


def check_names(value: Any, where: str, field: str) -> Tuple[str, ...]:
    """``value`` (a list of non-empty strings) as a tuple, else ``GraphError``."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise field_error(where, field, f"expected a list of names, got {value!r}")
    return tuple(value)


def check_int(value: Any, where: str, field: str, minimum: int = 1, maximum: Optional[int] = None) -> int:
    """``value`` if it is an integer (not a bool) in [minimum, maximum], else ``GraphError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise field_error(where, field, f"expected an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise field_error(where, field, f"must be {bound}, got {value}")
    return value


def check_weight(value: Any, where: str, field: str) -> float:
    """``value`` as a finite, non-negative float (integers accepted), else ``GraphError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise field_error(where, field, f"expected a finite number >= 0, got {value!r}")
    return float(value)
