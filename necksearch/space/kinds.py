"""What values a search-space parameter may take.

Operation defaults come from ``necksearch.graph.catalogue.OP_DEFAULTS`` (checked against the torch
registry). A template writes an argument into a node only when it differs from the default, as the
presets do.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Mapping, Optional, Tuple

from necksearch.graph.catalogue import OP_DEFAULTS, OP_SLOTS, ROI_EXTRACTORS

#: The string values each string hyper-parameter accepts (the ops' own tuples: GATES, UP_MODES, ...).
STRING_CHOICES: Dict[str, Tuple[str, ...]] = {
    "gate": ("2sigmoid", "sigmoid"), "mode": ("nearest", "bilinear"),
    "similarity": ("scaled_cosine", "dot", "scaled_dot"), "pooling": ("multi", "single", "adaptive"),
    "scale_mode": ("part", "full"), "prior_from": ("key", "query"), "fusion": ("asf", "sum"),
}

#: Hyper-parameters a template derives instead of searching (concat's input count, MS-Att's pool ratio).
DERIVED_ARGS: Dict[str, Tuple[str, ...]] = {"concat": ("num_inputs",), "mssa": ("pool_ratio",),
                                            "msca": ("pool_ratio",)}

_ODD_KERNELS = ("up_kernel", "down_kernel", "encoder_kernel", "kernel_size", "window", "block_size")
_POSITIVE = ("compressed_channels", "heads", "num_parts", "reduction", "mlp_ratio", "pool_ratio", "num_inputs")
_BOOLS = ("gcn", "project_after_aggregation", "gap_transform", "kv_pool", "relu", "mlp_norm", "residual")


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


def _arg_kind(op: str, arg: str) -> Kind:
    if arg in _ODD_KERNELS:
        return Kind("int", low=1, odd=True)
    if arg in _POSITIVE:
        return Kind("int", low=2 if arg == "num_inputs" else 1)
    if arg in _BOOLS:
        return Kind("bool")
    if arg in STRING_CHOICES:
        return Kind("str", allowed=STRING_CHOICES[arg])
    if arg in ("attn_dropout", "drop_prob"):
        return Kind("float", low=0.0, high=1.0, high_open=True)
    if arg == "entities":
        return Kind("int_list", low=1, length=4)
    if arg == "ratios":
        return Kind("float_list", low=0.0, high=1.0, low_open=True)
    raise KeyError(f"no kind for {op}.{arg}")


#: The kind of every operation hyper-parameter.
ARG_KINDS: Dict[str, Dict[str, Kind]] = {op: {arg: _arg_kind(op, arg) for arg in args}
                                         for op, args in OP_DEFAULTS.items()}

ROI_KIND = Kind("str", allowed=ROI_EXTRACTORS)
