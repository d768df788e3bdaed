"""The one registry of neck node operations.

Every operation is an ``nn.Module`` registered where it is defined with :func:`register_op`, which
records the slot it fills, the paper it comes from and its typed keyword defaults (read from the
constructor signature, so the defaults live in exactly one place).
"""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Dict, List, Type

from torch import nn

from necksearch.errors import NeckSearchError
from necksearch.ops.slots import SLOTS


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """A registered operation: its name, slot, source paper and constructor."""

    name: str
    slot: str
    paper: str
    cls: Type[nn.Module]

    @property
    def summary(self) -> str:
        """First line of the class docstring."""
        return (inspect.getdoc(self.cls) or "").splitlines()[0]

    @property
    def defaults(self) -> Dict[str, Any]:
        """Keyword hyper-parameters with their defaults (the slot's structural arguments excluded)."""
        structural = set(SLOTS[self.slot].structural_args)
        params = inspect.signature(self.cls.__init__).parameters.values()
        return {p.name: _plain(p.default) for p in params
                if p.default is not inspect.Parameter.empty and p.name not in structural}

    def accepts(self, argument: str) -> bool:
        """Whether the constructor takes ``argument`` (e.g. ``scale`` for non-adjacent fusion)."""
        return argument in inspect.signature(self.cls.__init__).parameters

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready description, as printed by ``necksearch ops --json``."""
        return {"name": self.name, "slot": self.slot, "paper": self.paper,
                "summary": self.summary, "defaults": self.defaults}


def _plain(value: Any) -> Any:
    """Tuples become lists so that defaults are JSON values."""
    return list(value) if isinstance(value, tuple) else value


OPS: Dict[str, OpSpec] = {}


def register_op(name: str, slot: str, paper: str) -> Callable[[Type[nn.Module]], Type[nn.Module]]:
    """Class decorator that registers a node operation under ``name``."""
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r} for op {name!r}; slots: {sorted(SLOTS)}")

    def decorate(cls: Type[nn.Module]) -> Type[nn.Module]:
        if name in OPS:
            raise ValueError(f"op {name!r} is registered twice ({OPS[name].cls.__qualname__}, {cls.__qualname__})")
        OPS[name] = OpSpec(name=name, slot=slot, paper=paper, cls=cls)
        cls.op_name = name
        return cls

    return decorate


def get_op(name: str) -> OpSpec:
    """The spec of a registered operation, with a clear error naming the unknown one."""
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
    order = list(SLOTS)
    return sorted(OPS.values(), key=lambda s: (order.index(s.slot), s.name))
