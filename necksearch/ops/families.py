"""Every built-in operation family, imported so that its ops are registered, and the lookups that need them all."""
import inspect
from typing import Any, List

from torch import nn

from necksearch.catalogue.record import OpRecord
from necksearch.catalogue.slot import SLOTS
from necksearch.catalogue.tables import check_declarations
from necksearch.errors import NeckSearchError
from necksearch.ops import augfpn, basic, carafe, fpt, mgc, msatt  # noqa: F401 - each registers its ops
from necksearch.ops.registry import OPS, OpSpec


def get_op(name: str) -> OpSpec:
    """The spec of a registered operation, with a clear error naming the unknown one."""
    check_declarations()
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
    check_declarations()
    return _ordered()


def declared_records() -> List[OpRecord]:
    """The built-in operations' records as their ``register_op`` declarations give them now, whatever
    ``records.json`` holds: what regenerating that file writes."""
    return [spec.record for spec in _ordered() if spec.record.module.startswith("necksearch.")]


def _ordered() -> List[OpSpec]:
    order = list(SLOTS)
    return sorted(OPS.values(), key=lambda s: (order.index(s.slot), s.name))
