"""The one registry of neck node operations.

Every operation is an ``nn.Module`` registered where it is defined with :func:`register_op`, which declares
its record (:class:`~necksearch.catalogue.record.OpRecord`: slot, paper, and every hyper-parameter's domain,
its type and default read from the constructor's typed signature) in the torch-free catalogue
(:mod:`necksearch.catalogue.tables`) and keeps the class to build it. The lookups (``get_op``, ``build_op``,
``list_ops``) are in :mod:`necksearch.ops.families`, once every built-in operation is registered.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import typing
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Type

from torch import nn

from necksearch.catalogue.domain import Domain, plain_value
from necksearch.catalogue.record import OpRecord
from necksearch.catalogue.slot import SLOTS


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """A registered operation: its record and constructor."""

    record: OpRecord
    cls: Type[nn.Module]

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def slot(self) -> str:
        return self.record.slot

    @property
    def paper(self) -> str:
        return self.record.paper

    @property
    def summary(self) -> str:
        """First line of the class docstring."""
        return self.record.summary

    @property
    def defaults(self) -> Dict[str, Any]:
        """Keyword hyper-parameters with their defaults (the slot's structural arguments excluded)."""
        return self.record.defaults

    def accepts(self, argument: str) -> bool:
        """Whether the constructor takes ``argument`` (e.g. ``scale`` for non-adjacent fusion)."""
        return argument in inspect.signature(self.cls.__init__).parameters

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready description, as printed by ``necksearch ops --json``."""
        return {"name": self.name, "slot": self.slot, "paper": self.paper,
                "summary": self.summary, "defaults": self.defaults}


#: Every registered operation, by name (:mod:`necksearch.ops.families` looks them up once all are in).
OPS: Dict[str, OpSpec] = {}


def register_op(name: str, slot: str, paper: str, *, args: Optional[Mapping[str, Mapping[str, Any]]] = None,
                **fields: Any) -> Callable[[Type[nn.Module]], Type[nn.Module]]:
    """Class decorator that registers a node operation under ``name`` and declares its record.

    ``args`` adds to a hyper-parameter what its annotation cannot say, as
    :class:`~necksearch.catalogue.domain.Domain` fields (``{"up_kernel": {"low": 1, "odd": True}}``); ``fields``
    are the record's other :class:`~necksearch.catalogue.record.OpRecord` fields (``variadic=True``, ...).
    """
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r} for op {name!r}; slots: {sorted(SLOTS)}")

    def decorate(cls: Type[nn.Module]) -> Type[nn.Module]:
        if name in OPS:
            raise ValueError(f"op {name!r} is registered twice ({OPS[name].cls.__qualname__}, {cls.__qualname__})")
        record = OpRecord(name=name, slot=slot, paper=paper, summary=(inspect.getdoc(cls) or "").splitlines()[0],
                          args=signature_args(cls, SLOTS[slot].structural_args, args or {}), module=cls.__module__,
                          **fields)
        # imported here: the catalogue's tables load the plugins, which import this module
        from necksearch.catalogue.tables import declare
        declare(record)
        OPS[name] = OpSpec(record=record, cls=cls)
        cls.op_name = name
        return cls

    return decorate


def signature_args(cls: Type[nn.Module], structural: Sequence[str], extra: Mapping[str, Mapping[str, Any]]
                   ) -> Tuple[Tuple[str, Domain], ...]:
    """Every keyword hyper-parameter of ``cls`` (those with a default, structural ones excluded) as a
    :class:`~necksearch.catalogue.domain.Domain` whose type and default come from the signature, plus ``extra``'s
    fields."""
    hints = typing.get_type_hints(cls.__init__)
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.default is not inspect.Parameter.empty and p.name not in structural]
    unknown = sorted(set(extra) - {p.name for p in params})
    if unknown:
        raise ValueError(f"{cls.__qualname__}: no hyper-parameter(s) {unknown} to describe")
    return tuple((p.name, Domain(**_typed(cls, p.name, hints.get(p.name)), default=plain_value(p.default),
                                 **dict(extra.get(p.name, {}))))
                 for p in params)


def _typed(cls: type, name: str, hint: Any) -> Dict[str, Any]:
    """``{"type": ...}`` (and ``choices`` for a ``Literal``) of an annotation."""
    if hint in (bool, int, float):
        return {"type": hint.__name__}
    if typing.get_origin(hint) is typing.Literal:
        return {"type": "str", "choices": typing.get_args(hint)}
    item = typing.get_args(hint)[:1]
    if typing.get_origin(hint) in (list, tuple, collections.abc.Sequence) and item in ((int,), (float,)):
        return {"type": f"{item[0].__name__}_list"}
    raise ValueError(f"{cls.__qualname__}.{name}: annotate it as int, float, bool, Literal[...] or a sequence of "
                     f"int or float (got {hint!r}) so that spaces know its values")
