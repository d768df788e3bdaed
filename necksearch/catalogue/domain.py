"""What values an argument may take: an operation's hyper-parameter (in its record) or a search-space parameter.

An operation's hyper-parameters are declared with the operation (``necksearch.ops.register_op``): the type and
default come from the constructor's annotation, the rest from ``register_op(args=...)`` (:data:`ODD_KERNEL`,
:data:`POSITIVE`, :data:`PROBABILITY` are what it most often adds). A space parameter of the same argument reads the
same :class:`Domain` from the record, so a space can never search beyond what the operation accepts.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Mapping, Optional, Tuple

#: Types of values. An operation's hyper-parameter is one of the first six (what an annotation can say).
TYPES = ("int", "float", "bool", "str", "int_list", "float_list", "op", "mapping")

#: A kernel size: a positive odd integer.
ODD_KERNEL = {"low": 1, "odd": True}
#: A count or ratio of at least 1 (heads, parts, channels, reductions).
POSITIVE = {"low": 1}
#: A probability in [0, 1).
PROBABILITY = {"low": 0.0, "high": 1.0, "high_open": True}


@dataclasses.dataclass(frozen=True)
class Domain:
    """The values one argument may take, and the one it takes when not given.

    Attributes:
        type: one of :data:`TYPES`.
        default: the value when not given (an operation's: its constructor's default).
        low, high: inclusive bounds of a number (of every item of a list); ``low_open``/``high_open`` exclude them.
        odd: an integer that must be odd (kernel sizes).
        choices: the strings a ``str`` accepts (from a ``Literal`` annotation); the operations an ``op`` accepts.
        length: the length an ``int_list`` must have.
        nullable: ``null`` is accepted too.
        fields: a ``mapping``'s keys, each with its domain (a mapping may leave any out).
        known: every operation (an ``op`` outside it is unknown; one in it but not in ``choices`` cannot fill
            this slot).
    """

    type: str
    default: Any = None
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    odd: bool = False
    choices: Tuple[str, ...] = ()
    length: Optional[int] = None
    nullable: bool = False
    fields: Tuple[Tuple[str, "Domain"], ...] = ()
    known: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"argument type must be one of {TYPES}, got {self.type!r}")
        if self.type in ("str", "op") and not self.choices:
            raise ValueError(f"a {self.type} argument needs its choices (annotate a str with Literal[...])")

    def to_dict(self) -> Dict[str, Any]:
        """The fields that differ from their defaults (``type`` and ``default`` always), JSON-ready."""
        return {"type": self.type, "default": plain_value(self.default), **changed_fields(self, after="default")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Domain":
        return cls(**{**data, "choices": tuple(data.get("choices", ()))})

    def describe(self) -> str:
        """The domain in words, for error messages."""
        text = {"int": "an odd integer" if self.odd else "an integer", "float": "a number", "bool": "true or false",
                "str": f"one of {', '.join(self.choices)}", "op": f"an operation among {', '.join(self.choices)}",
                "int_list": f"a list of {self.length} integers", "float_list": "a non-empty list of numbers",
                "mapping": "a mapping of " + ", ".join(f"{name} ({domain.describe()})" for name, domain in self.fields)
                }[self.type]
        if self.type in ("int", "float", "int_list", "float_list") and (self.low is not None or self.high is not None):
            text += f" in {'(' if self.low_open else '['}{_num(self.low)}, {_num(self.high)}{')' if self.high_open else ']'}"
        return text + (" (or null)" if self.nullable else "")

    def problem(self, value: Any) -> Optional[str]:
        """Why ``value`` is not in this domain, or ``None`` when it is."""
        if value is None:
            return None if self.nullable else f"expected {self.describe()}, got null"
        return getattr(self, f"_check_{self.type}")(value)

    def coerce(self, value: Any) -> Any:
        """``value`` with integers turned into floats where this domain holds floats (YAML ``0`` → ``0.0``)."""
        if self.type == "float" and _is_number(value):
            return float(value)
        if self.type == "float_list" and isinstance(value, (list, tuple)):
            return [float(v) if _is_number(v) else v for v in value]
        if self.type == "mapping" and isinstance(value, Mapping):
            fields = dict(self.fields)
            return {key: fields[key].coerce(item) if key in fields else item for key, item in value.items()}
        return value

    def _bounded(self, value: Any, integer: bool) -> Optional[str]:
        ok = isinstance(value, int) if integer else _is_number(value) and math.isfinite(value)
        if isinstance(value, bool) or not ok:
            return f"expected {self.describe()}, got {value!r}"
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        if too_low or too_high or (integer and self.odd and value % 2 == 0):
            return f"expected {self.describe()}, got {value!r}"
        return None

    def _check_int(self, value: Any) -> Optional[str]:
        return self._bounded(value, True)

    def _check_float(self, value: Any) -> Optional[str]:
        return self._bounded(value, False)

    def _check_bool(self, value: Any) -> Optional[str]:
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"

    def _check_str(self, value: Any) -> Optional[str]:
        return None if isinstance(value, str) and value in self.choices else \
            f"expected {self.describe()}, got {value!r}"

    def _check_op(self, value: Any) -> Optional[str]:
        if not isinstance(value, str):
            return f"expected an operation name, got {value!r}"
        if value not in self.choices:
            known = value in self.known or value == "none"
            what = f"operation {value!r} cannot fill this slot" if known else f"unknown operation {value!r}"
            return f"{what}; choose from {', '.join(self.choices)}"
        return None

    def _check_int_list(self, value: Any) -> Optional[str]:
        if not isinstance(value, (list, tuple)) or len(value) != self.length:
            return f"expected {self.describe()}, got {value!r}"
        return self._check_items(value, "int")

    def _check_float_list(self, value: Any) -> Optional[str]:
        if not isinstance(value, (list, tuple)) or not value:
            return f"expected {self.describe()}, got {value!r}"
        return self._check_items(value, "float")

    def _check_items(self, value: Any, item_type: str) -> Optional[str]:
        item = Domain(item_type, low=self.low, high=self.high, low_open=self.low_open, high_open=self.high_open,
                      odd=self.odd)
        return next((f"expected {self.describe()}, got {value!r}" for v in value if item.problem(v)), None)

    def _check_mapping(self, value: Any) -> Optional[str]:
        fields = dict(self.fields)
        if not isinstance(value, Mapping) or any(not isinstance(key, str) or key not in fields for key in value):
            return f"expected {self.describe()}, got {value!r}"
        problems = ((key, fields[key].problem(item)) for key, item in value.items())
        return next((f"{key}: {problem}" for key, problem in problems if problem), None)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _num(value: Optional[float]) -> str:
    return "…" if value is None else f"{value:g}"


def changed_fields(record: Any, after: str) -> Dict[str, Any]:
    """The dataclass fields of ``record`` declared after ``after`` whose values differ from their defaults, as
    JSON values (what ``records.json`` spells out: a field at its default is left out)."""
    fields = dataclasses.fields(record)
    start = next(index for index, field in enumerate(fields) if field.name == after) + 1
    return {field.name: plain_value(getattr(record, field.name)) for field in fields[start:]
            if getattr(record, field.name) != field.default}


def plain_value(value: Any) -> Any:
    """Tuples become lists so that defaults are JSON values."""
    return list(value) if isinstance(value, tuple) else value
