"""An operation's record: what the torch-free layers (graphs, spaces, drawings) know about it.

A record is declared once, where the operation is defined, by :func:`necksearch.ops.register_op`: slot and paper
are given there, every hyper-parameter's type and default are read from the constructor's typed signature
(``int``, ``float``, ``bool``, ``Literal[...]`` strings, sequences of ints or floats), and the decorator adds
what a signature cannot say (ranges, odd kernels, list lengths, arguments a template derives).

This module is torch-free. The built-in operations' records are also kept in ``records.json`` beside it,
generated from the decorators (``scripts/necksearch ops --write-records``), so that
graphs and spaces read them without importing torch; importing the operations checks that every decorator
still agrees with that file. Operations from other packages are records registered by their own modules
(``NECKSEARCH_PLUGINS``, :mod:`necksearch.graph.catalogue`).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

#: The generated records of the built-in operations (torch-free).
RECORDS_FILE = Path(__file__).with_name("records.json")
#: Types a hyper-parameter may have.
ARG_TYPES = ("int", "float", "bool", "str", "int_list", "float_list")

# What ``register_op(args=...)`` most often adds to a hyper-parameter's annotation.
#: A kernel size: a positive odd integer.
ODD_KERNEL = {"low": 1, "odd": True}
#: A count or ratio of at least 1 (heads, parts, channels, reductions).
POSITIVE = {"low": 1}
#: A probability in [0, 1).
PROBABILITY = {"low": 0.0, "high": 1.0, "high_open": True}


@dataclasses.dataclass(frozen=True)
class Arg:
    """One hyper-parameter of an operation.

    Attributes:
        type: one of :data:`ARG_TYPES`.
        default: the constructor's default.
        low, high: inclusive bounds of a number (of every item of a list); ``low_open``/``high_open`` exclude them.
        odd: an integer that must be odd (kernel sizes).
        choices: the strings a ``str`` accepts (from its ``Literal`` annotation).
        length: the length an ``int_list`` must have.
        derived: set by the template from the graph's structure (concat's input count, MS-Att's pool ratio),
            never searched.
    """

    type: str
    default: Any
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    odd: bool = False
    choices: Tuple[str, ...] = ()
    length: Optional[int] = None
    derived: bool = False

    def __post_init__(self) -> None:
        if self.type not in ARG_TYPES:
            raise ValueError(f"argument type must be one of {ARG_TYPES}, got {self.type!r}")
        if self.type == "str" and not self.choices:
            raise ValueError("a str argument needs its choices (annotate it with Literal[...])")

    def to_dict(self) -> Dict[str, Any]:
        """The fields that differ from their defaults (``type`` and ``default`` always), JSON-ready."""
        return {"type": self.type, "default": plain_value(self.default), **_changed_fields(self, after="default")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Arg":
        return cls(**{**data, "choices": tuple(data.get("choices", ()))})


@dataclasses.dataclass(frozen=True)
class OpRecord:
    """Everything about an operation but its torch module.

    Attributes:
        name, slot, paper: the registry name, the slot it fills (:mod:`necksearch.ops.slot`), its source.
        summary: the first line of the class docstring.
        args: its hyper-parameters (the slot's structural arguments, such as widths, excluded), in order.
        module: the Python module that defines it (imported to build it).
        variadic: a fusion that takes any number of sources at any level (``sum``, ``concat``).
        same_width: an extra-level op whose output keeps its input's width (no parameters to change it).
        orthogonal_loss: it carries A²-FPN's orthogonal loss (weighted by ``mgc_orthogonal_weight``).
        plain: one of FPN's own ops, left out of one-line graph summaries.
        width_scaled: arguments tied to the pyramid width (``NeckGraph.with_channels`` scales them with it).
        input_bounded: a per-level count that may not exceed the width of the backbone input it reads.
    """

    name: str
    slot: str
    paper: str
    summary: str
    args: Tuple[Tuple[str, Arg], ...]
    module: str
    variadic: bool = False
    same_width: bool = False
    orthogonal_loss: bool = False
    plain: bool = False
    width_scaled: Tuple[str, ...] = ()
    input_bounded: Optional[str] = None

    @property
    def arguments(self) -> Dict[str, Arg]:
        """Hyper-parameter name → :class:`Arg`, in the constructor's order."""
        return dict(self.args)

    @property
    def defaults(self) -> Dict[str, Any]:
        """Hyper-parameter name → default (tuples as lists: JSON values)."""
        return {name: plain_value(arg.default) for name, arg in self.args}

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready: one entry of ``records.json``."""
        return {"name": self.name, "slot": self.slot, "paper": self.paper, "summary": self.summary,
                "module": self.module, "args": {name: arg.to_dict() for name, arg in self.args},
                **_changed_fields(self, after="module")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OpRecord":
        args = tuple((name, Arg.from_dict(arg)) for name, arg in data["args"].items())
        return cls(**{**data, "args": args, "width_scaled": tuple(data.get("width_scaled", ()))})


def load_records(path: Path = RECORDS_FILE) -> List[OpRecord]:
    """The records stored in ``path`` (the built-in operations' by default)."""
    return [OpRecord.from_dict(entry) for entry in json.loads(path.read_text(encoding="utf-8"))]


def dump_records(records: List[OpRecord]) -> str:
    """``records`` as the text of ``records.json``."""
    return json.dumps([record.to_dict() for record in records], indent=1, ensure_ascii=False) + "\n"


def _changed_fields(record: Any, after: str) -> Dict[str, Any]:
    """The dataclass fields of ``record`` declared after ``after`` whose values differ from their defaults, as
    JSON values (what ``records.json`` spells out: a field at its default is left out)."""
    fields = dataclasses.fields(record)
    start = next(index for index, field in enumerate(fields) if field.name == after) + 1
    return {field.name: plain_value(getattr(record, field.name)) for field in fields[start:]
            if getattr(record, field.name) != field.default}


def plain_value(value: Any) -> Any:
    """Tuples become lists so that defaults are JSON values."""
    return list(value) if isinstance(value, tuple) else value
