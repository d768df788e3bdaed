"""The parameters a template asks for: label, domain (the values and the default), level expansion, conditions.

A parameter's *generic label* (``td/op``, ``td/gacarafe/up_kernel``) is what a space file declares. A
per-level parameter of a group whose levels are independent (``per_level: {td: true}``) becomes one
label per level, ``p<level>`` inserted after the group: ``td/p3/op``, ``td/p3/gacarafe/up_kernel``.
Each operation's hyper-parameters sit under the branch that chose the operation, so no label ever
changes its distribution (Optuna forbids that). A parameter the space file does not declare keeps
its default.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, FrozenSet, Iterable, Mapping, Optional, Tuple

from necksearch.catalogue.domain import Domain
from necksearch.catalogue.tables import DERIVED_ARGS, DETECTOR_OPS, OP_ARGS, OP_DEFAULTS, OP_SLOTS, RECORDS, \
    ROI_EXTRACTORS

Condition = Tuple[str, FrozenSet[Any]]


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter a template may ask for.

    Attributes:
        name: generic label.
        domain: the values it may take, and its value when the space file does not declare it (an op
            hyper-parameter's: the op's own, from its record).
        group: the per-level group (``td``, ``bu``, ``fpt``) it belongs to, or ``None``.
        levels: the levels at which a per-level parameter exists.
        when: conditions (generic label, values) under which it is asked at all.
        level_when: extra conditions for single levels (``bu`` level 6 needs ``top/op: conv_down``).
        source: where the value lands in a graph: ``(op, arg)``, ``("detector", field)``,
            ``("graph", "channels")`` or ``("ops", "")`` (an operation choice); used to decode graphs.
        doc: one line for ``labels()``.
    """

    name: str
    domain: Domain
    group: Optional[str] = None
    levels: Tuple[int, ...] = ()
    when: Tuple[Condition, ...] = ()
    level_when: Mapping[int, Tuple[Condition, ...]] = dataclasses.field(default_factory=dict)
    source: Optional[Tuple[str, str]] = None
    doc: str = ""

    @property
    def default(self) -> Any:
        """Its value when the space file does not declare it."""
        return self.domain.default

    def label(self, level: Optional[int], independent: bool) -> str:
        """The concrete label at ``level`` (levels independent or shared)."""
        if self.group is None or not independent:
            return self.name
        head, _, rest = self.name.partition("/")
        return f"{head}/p{level}/{rest}"


@dataclasses.dataclass(frozen=True)
class Template:
    """A graph skeleton: ``build(ask) -> NeckGraph`` asks for every choice through ``ask``."""

    name: str
    build: Callable[[Any], Any]
    params: Tuple[Param, ...]
    doc: str = ""

    @property
    def groups(self) -> Tuple[str, ...]:
        return tuple(sorted({p.group for p in self.params if p.group}))


def op_domain(*ops: str, default: str) -> Domain:
    """An operation choice among ``ops``."""
    return Domain("op", default, choices=tuple(ops), known=tuple(OP_SLOTS))


def searchable_args(op: str) -> Tuple[str, ...]:
    """Hyper-parameters of ``op`` a space may search (derived ones excluded), sorted."""
    return tuple(sorted(OP_ARGS[op] - set(DERIVED_ARGS.get(op, ()))))


def op_params(prefix: str, op: str, when: Tuple[Condition, ...], group: Optional[str] = None,
              levels: Tuple[int, ...] = (), level_when: Optional[Mapping[int, Tuple[Condition, ...]]] = None,
              args: Optional[Iterable[str]] = None) -> Tuple[Param, ...]:
    """``<prefix>/<arg>`` for each hyper-parameter of ``op``, in the domain its record gives."""
    return tuple(Param(f"{prefix}/{arg}", RECORDS[op].arguments[arg], group, levels, when, level_when or {}, (op, arg),
                       f"{op} {arg}")
                 for arg in (searchable_args(op) if args is None else args))


def branch_params(group: str, choice: str, ops: Iterable[str], levels: Tuple[int, ...],
                  level_when: Optional[Mapping[int, Tuple[Condition, ...]]] = None,
                  prefix: Optional[str] = None) -> Tuple[Param, ...]:
    """The hyper-parameters of every op a per-level op choice ``choice`` may pick, each its own branch."""
    params: Tuple[Param, ...] = ()
    for op in ops:
        when = ((choice, frozenset({op})),)
        params += op_params(f"{prefix or group}/{op}", op, when, group, levels, level_when)
    return params


DETECTOR_PARAMS: Tuple[Param, ...] = (
    Param("detector/roi_extractor", Domain("str", "fpn", choices=ROI_EXTRACTORS), source=("detector", "roi_extractor"),
          doc="RoI feature extraction: fpn (single-level heuristic) or srs (AugFPN soft RoI selection)"),
    Param("detector/consistent_supervision", Domain("float", 0.0, low=0.0),
          source=("detector", "consistent_supervision"), doc="AugFPN consistent-supervision weight (0 = off)"),
    Param("detector/output_dropblock",
          Domain("mapping", nullable=True, fields=RECORDS[DETECTOR_OPS["output_dropblock"]].args),
          source=("detector", "output_dropblock"),
          doc="DropBlock on every output map (FPT: drop_prob 0.1, block_size 5)"),
)

CHANNELS = Param("channels", Domain("int", 256, low=1), source=("graph", "channels"), doc="pyramid width")


def arg_default(op: str, arg: str, channels: int) -> Any:
    """The value an absent argument stands for (width arguments: the graph width)."""
    return channels if arg in ("context_channels", "out_channels") else OP_DEFAULTS[op][arg]


def by_name(params: Iterable[Param]) -> Dict[str, Param]:
    """Parameters keyed by generic label (shared ones, e.g. ``detector/*``, once)."""
    table: Dict[str, Param] = {}
    for param in params:
        if table.setdefault(param.name, param) != param:
            raise ValueError(f"two templates define {param.name!r} differently")
    return table
