"""What values a search-space parameter may take.

An operation's hyper-parameters take their kinds from its record (``necksearch.graph.catalogue.RECORDS``:
type, default and range, declared with the operation). A template writes an argument into a node only when
it differs from the default, as the presets do.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Mapping, Optional, Tuple

from necksearch.graph.catalogue import OP_SLOTS, RECORDS, ROI_EXTRACTORS
from necksearch.ops.record import Arg


@dataclasses.dataclass(frozen=True)
class Kind:
    """The values one parameter may take.

    Attributes:
        type: ``int``, ``float``, ``bool``, ``str``, ``op``, ``int_list``, ``float_list`` or ``dropblock``.
        low, high: inclusive bounds of numbers (list items too); ``low_open``/``high_open`` exclude them.
        odd: integers must be odd (kernel sizes).
        allowed: the strings (``str``) or operations (``op``; ``none`` allowed where listed) accepted.
        length: required length of an ``int_list``.
        nullable: ``null`` is accepted too.
    """

    type: str
    low: Optional[float] = None
    high: Optional[float] = None
    high_open: bool = False
    low_open: bool = False
    odd: bool = False
    allowed: Tuple[Any, ...] = ()
    length: Optional[int] = None
    nullable: bool = False

    def describe(self) -> str:
        """The kind in words, for error messages."""
        text = {"int": "an odd integer" if self.odd else "an integer", "float": "a number", "bool": "true or false",
                "str": f"one of {', '.join(self.allowed)}", "op": f"an operation among {', '.join(self.allowed)}",
                "int_list": f"a list of {self.length} integers", "float_list": "a non-empty list of numbers",
                "dropblock": "null or a mapping with drop_prob in [0, 1) and an odd block_size"}[self.type]
        if self.type in ("int", "float", "int_list", "float_list") and (self.low is not None or self.high is not None):
            text += f" in {'(' if self.low_open else '['}{_num(self.low)}, {_num(self.high)}{')' if self.high_open else ']'}"
        return text + (" (or null)" if self.nullable else "")

    def problem(self, value: Any) -> Optional[str]:
        """Why ``value`` is not of this kind, or ``None`` when it is."""
        if value is None:
            return None if self.nullable or self.type == "dropblock" else f"expected {self.describe()}, got null"
        checker = getattr(self, f"_check_{self.type}")
        return checker(value)

    def coerce(self, value: Any) -> Any:
        """``value`` with integers turned into floats where this kind holds floats (YAML ``0`` → ``0.0``)."""
        if self.type == "float" and _is_number(value):
            return float(value)
        if self.type == "float_list" and isinstance(value, (list, tuple)):
            return [float(v) if _is_number(v) else v for v in value]
        if self.type == "dropblock" and isinstance(value, Mapping) and _is_number(value.get("drop_prob")):
            return {**value, "drop_prob": float(value["drop_prob"])}
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
        return None if isinstance(value, str) and value in self.allowed else \
            f"expected {self.describe()}, got {value!r}"

    def _check_op(self, value: Any) -> Optional[str]:
        if not isinstance(value, str):
            return f"expected an operation name, got {value!r}"
        if value not in self.allowed:
            known = value in OP_SLOTS or value == "none"
            what = f"operation {value!r} cannot fill this slot" if known else f"unknown operation {value!r}"
            return f"{what}; choose from {', '.join(self.allowed)}"
        return None

    def _check_int_list(self, value: Any) -> Optional[str]:
        if not isinstance(value, (list, tuple)) or len(value) != self.length:
            return f"expected {self.describe()}, got {value!r}"
        item = Kind("int", low=self.low, high=self.high)
        return next((f"expected {self.describe()}, got {value!r}" for v in value if item.problem(v)), None)

    def _check_float_list(self, value: Any) -> Optional[str]:
        if not isinstance(value, (list, tuple)) or not value:
            return f"expected {self.describe()}, got {value!r}"
        item = Kind("float", low=self.low, high=self.high, high_open=self.high_open, low_open=self.low_open)
        return next((f"expected {self.describe()}, got {value!r}" for v in value if item.problem(v)), None)

    def _check_dropblock(self, value: Any) -> Optional[str]:
        if not isinstance(value, Mapping) or set(value) - {"drop_prob", "block_size"} or \
                any(not isinstance(k, str) for k in value):
            return f"expected {self.describe()}, got {value!r}"
        problems = [ARG_KINDS["dropblock"][key].problem(item) for key, item in value.items()]
        return next((f"output_dropblock: {p}" for p in problems if p), None)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _num(value: Optional[float]) -> str:
    return "…" if value is None else f"{value:g}"


def arg_kind(arg: Arg) -> Kind:
    """The kind of an operation's hyper-parameter, from its record."""
    return Kind(arg.type, low=arg.low, high=arg.high, low_open=arg.low_open, high_open=arg.high_open, odd=arg.odd,
                allowed=arg.choices, length=arg.length)


#: The kind of every operation hyper-parameter.
ARG_KINDS: Dict[str, Dict[str, Kind]] = {op: {name: arg_kind(arg) for name, arg in record.args}
                                         for op, record in RECORDS.items()}

#: Hyper-parameters a template derives instead of searching (concat's input count, MS-Att's pool ratio).
DERIVED_ARGS: Dict[str, Tuple[str, ...]] = {op: tuple(name for name, arg in record.args if arg.derived)
                                            for op, record in RECORDS.items()}

ROI_KIND = Kind("str", allowed=ROI_EXTRACTORS)
