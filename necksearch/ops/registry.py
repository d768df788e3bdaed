"""The one registry of neck node operations.

Every operation is an ``nn.Module`` registered where it is defined with :func:`register_op`, which declares
its record (:class:`~necksearch.ops.record.OpRecord`: slot, paper, and every hyper-parameter's type, default
and range, the types and defaults read from the constructor's typed signature) in the torch-free catalogue
(:mod:`necksearch.graph.catalogue`) and keeps the class to build it.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import typing
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Type

from torch import nn

from necksearch.errors import NeckSearchError
from necksearch.ops.record import Arg, OpRecord, plain_value
from necksearch.ops.slot import SLOTS


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


OPS: Dict[str, OpSpec] = {}


def register_op(name: str, slot: str, paper: str, *, args: Optional[Mapping[str, Mapping[str, Any]]] = None,
                variadic: bool = False, same_width: bool = False, orthogonal_loss: bool = False, plain: bool = False,
                width_scaled: Sequence[str] = (), input_bounded: Optional[str] = None
                ) -> Callable[[Type[nn.Module]], Type[nn.Module]]:
    """Class decorator that registers a node operation under ``name`` and declares its record.

    ``args`` adds to a hyper-parameter what its annotation cannot say, as :class:`~necksearch.ops.record.Arg`
    fields (``{"up_kernel": {"low": 1, "odd": True}}``); the other keywords are :class:`OpRecord` fields.
    """
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r} for op {name!r}; slots: {sorted(SLOTS)}")

    def decorate(cls: Type[nn.Module]) -> Type[nn.Module]:
        from necksearch.graph.catalogue import declare
        if name in OPS:
            raise ValueError(f"op {name!r} is registered twice ({OPS[name].cls.__qualname__}, {cls.__qualname__})")
        record = OpRecord(name=name, slot=slot, paper=paper, summary=(inspect.getdoc(cls) or "").splitlines()[0],
                          args=signature_args(cls, SLOTS[slot].structural_args, args or {}), module=cls.__module__,
                          variadic=variadic, same_width=same_width, orthogonal_loss=orthogonal_loss, plain=plain,
                          width_scaled=tuple(width_scaled), input_bounded=input_bounded)
        declare(record)
        OPS[name] = OpSpec(record=record, cls=cls)
        cls.op_name = name
        return cls

    return decorate


def signature_args(cls: Type[nn.Module], structural: Sequence[str], extra: Mapping[str, Mapping[str, Any]]
                   ) -> Tuple[Tuple[str, Arg], ...]:
    """Every keyword hyper-parameter of ``cls`` (those with a default, structural ones excluded) as an
    :class:`Arg` whose type and default come from the signature, plus ``extra``'s fields."""
    hints = typing.get_type_hints(cls.__init__)
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.default is not inspect.Parameter.empty and p.name not in structural]
    unknown = sorted(set(extra) - {p.name for p in params})
    if unknown:
        raise ValueError(f"{cls.__qualname__}: no hyper-parameter(s) {unknown} to describe")
    return tuple((p.name, Arg(**_typed(cls, p.name, hints.get(p.name)), default=plain_value(p.default),
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


def get_op(name: str) -> OpSpec:
    """The spec of a registered operation, with a clear error naming the unknown one."""
    _register_families()
    try:
        return OPS[name]
    except KeyError:
        raise NeckSearchError(f"unknown operation {name!r}; known: {', '.join(sorted(OPS))}") from None


def build_op(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate operation ``name``; unknown keywords are reported by name."""
    spec = get_op(name)
    accepted = inspect.signature(spec.cls.__init__).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise NeckSearchError(f"op {name!r} has no argument(s) {unknown}; it takes {sorted(set(accepted) - {'self'})}")
    return spec.cls(**kwargs)


def list_ops() -> List[OpSpec]:
    """Every registered operation, ordered by slot then name."""
    _register_families()
    order = list(SLOTS)
    return sorted(OPS.values(), key=lambda s: (order.index(s.slot), s.name))


def _register_families() -> None:
    """Import every built-in operation family (each registers its ops), once."""
    import necksearch.ops.families  # noqa: F401
