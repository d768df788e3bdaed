"""An operation's record: what the torch-free layers (graphs, spaces, drawings) know about it.

A record is declared once, where the operation is defined, by :func:`necksearch.ops.register_op`: slot and paper
are given there, every hyper-parameter's type and default are read from the constructor's typed signature
(``int``, ``float``, ``bool``, ``Literal[...]`` strings, sequences of ints or floats), and the decorator adds
what a signature cannot say (ranges, odd kernels, list lengths: :class:`~necksearch.catalogue.domain.Domain`
fields) and what the graph and its templates do with the op (the other fields of :class:`OpRecord`).

The built-in operations' records are also kept in ``records.json`` beside this module, generated from the
decorators (``scripts/necksearch ops --write-records``), so that graphs and spaces read them without importing
torch; looking an operation up (``necksearch.ops.get_op``) refuses a decorator that no longer agrees with that
file. Operations from other packages are records registered by their own modules (``NECKSEARCH_PLUGINS``,
:mod:`necksearch.catalogue.tables`).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from necksearch.catalogue.domain import Domain, changed_fields, plain_value

#: The generated records of the built-in operations (torch-free).
RECORDS_FILE = Path(__file__).with_name("records.json")


@dataclasses.dataclass(frozen=True)
class OpRecord:
    """Everything about an operation but its torch module.

    Attributes:
        name, slot, paper: the registry name, the slot it fills (:mod:`necksearch.catalogue.slot`), its source.
        summary: the first line of the class docstring.
        args: its hyper-parameters (the slot's structural arguments, such as widths, excluded), in order.
        module: the Python module that defines it (imported to build it).
        variadic: a fusion that takes any number of sources at any level (``sum``, ``concat``).
        same_width: an extra-level op whose output keeps its input's width (no parameters to change it).
        orthogonal_loss: it carries A²-FPN's orthogonal loss (weighted by ``mgc_orthogonal_weight``).
        plain: one of FPN's own ops, left out of one-line graph summaries.
        width_scaled: arguments tied to the pyramid width (``NeckGraph.with_channels`` scales them with it).
        input_bounded: a per-level count that may not exceed the width of the backbone input it reads.
        input_count: the argument that holds a node's number of inputs (concat's ``num_inputs``): a graph node
            gets it filled in and checked, a space never searches it.
        top_ratio: the argument a template sets to 2^(top − l) at a node of level l, the ratio of the pyramid's
            top stride to the node's (MS-Att's pool ratio r = 64 / stride); a space never searches it.
        unused_when: (argument, other argument, value): the argument plays no part while the other has that value,
            and a template leaves it out then (MS-Att's pool ratio under ``pooling='adaptive'``).
        detector_field: the ``DetectorChoices`` field that applies this op to every neck output, its value
            holding the op's arguments (DropBlock: ``output_dropblock``).
        target_as_query: a fusion whose output is built from its sources alone, the target entering only as the
            queries (FPT's GT and LGT, Eq. 5: X̂^f = F_mul(w, v), v = f_v(X^c)); a template fusing a level with it
            keeps the target beside it, as FPT concatenates the transformed map with the original one.
        revision: what the op computes, counted from 1: a change of its computation under the same name and
            arguments bumps it, so that every graph using it hashes anew (``graph/hashing.py``) and no training of
            the earlier computation answers for it (a search's deduplication and resume, ``confirm --reuse``).
    """

    name: str
    slot: str
    paper: str
    summary: str
    args: Tuple[Tuple[str, Domain], ...]
    module: str
    variadic: bool = False
    same_width: bool = False
    orthogonal_loss: bool = False
    plain: bool = False
    width_scaled: Tuple[str, ...] = ()
    input_bounded: Optional[str] = None
    input_count: Optional[str] = None
    top_ratio: Optional[str] = None
    unused_when: Tuple[Tuple[str, str, Any], ...] = ()
    detector_field: Optional[str] = None
    target_as_query: bool = False
    revision: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "width_scaled", tuple(self.width_scaled))
        object.__setattr__(self, "unused_when", tuple(tuple(entry) for entry in self.unused_when))

    @property
    def arguments(self) -> Dict[str, Domain]:
        """Hyper-parameter name → its :class:`~necksearch.catalogue.domain.Domain`, in the constructor's order."""
        return dict(self.args)

    @property
    def defaults(self) -> Dict[str, Any]:
        """Hyper-parameter name → default (tuples as lists: JSON values)."""
        return {name: plain_value(domain.default) for name, domain in self.args}

    @property
    def derived(self) -> Tuple[str, ...]:
        """The arguments that the graph or a template sets, never a space (:attr:`input_count`, :attr:`top_ratio`)."""
        return tuple(name for name in (self.input_count, self.top_ratio) if name)

    def unused(self, args: Mapping[str, Any]) -> Tuple[str, ...]:
        """The arguments that play no part given ``args`` (:attr:`unused_when`)."""
        return tuple(name for name, other, value in self.unused_when if args.get(other) == value)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready: one entry of ``records.json``."""
        return {"name": self.name, "slot": self.slot, "paper": self.paper, "summary": self.summary,
                "module": self.module, "args": {name: domain.to_dict() for name, domain in self.args},
                **changed_fields(self, after="module")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OpRecord":
        return cls(**{**data, "args": tuple((name, Domain.from_dict(arg)) for name, arg in data["args"].items())})


def load_records(path: Path = RECORDS_FILE) -> List[OpRecord]:
    """The records stored in ``path`` (the built-in operations' by default)."""
    return [OpRecord.from_dict(entry) for entry in json.loads(path.read_text(encoding="utf-8"))]


def dump_records(records: List[OpRecord]) -> str:
    """``records`` as the text of ``records.json``."""
    return json.dumps([record.to_dict() for record in records], indent=1, ensure_ascii=False) + "\n"
