"""Which graph nodes are the laterals M2..M5 that AugFPN's consistent supervision reads.

The laterals are derived from the graph, never from node names: at each backbone level ``c<k>`` the
lateral is the node of the ``lateral`` or ``distribute`` slot (FPN's 1×1 ``lateral``, A²-FPN's
``mgc``) whose first input *is* that backbone map. Its output precedes every top-down fusion by
construction (it reads the backbone directly).

When a level has more than one such node, the ones that are only a residual *added into* another
candidate are dropped: AugFPN's ``rfa`` node (M6) reads C5 directly too, but the graph fuses it into
the 1×1 lateral (``m5 = sum(l5, r5)``), so the lateral before RFA is added is ``l5``. Anything still
ambiguous is an error that asks for the names explicitly (the detector's ``cs_laterals``).
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence

from necksearch.catalogue.tables import OP_SLOTS
from necksearch.graph import GraphError, NeckGraph, NodeShape
from necksearch.graph.presets import resolve_graph

#: Slots whose nodes extract one backbone level into the pyramid (with or without a context).
LATERAL_SLOTS = ("lateral", "distribute")


def find_laterals(graph, in_channels: Optional[Sequence[int]] = None) -> Dict[int, str]:
    """``{level: node name}`` of the lateral at every backbone level of ``graph`` (increasing levels).

    Args:
        graph: a NeckGraph, its dict form, a preset name or a path.
        in_channels: backbone widths (ResNet-50's when omitted); only used to validate the graph.

    Raises:
        GraphError: a backbone level has no lateral, or several that the rule cannot tell apart.
    """
    graph = resolve_graph(graph)
    shapes = graph.infer_shapes(None if in_channels is None else dict(zip(graph.inputs, in_channels)))
    laterals: Dict[int, str] = {}
    for source in graph.inputs:
        candidates = [node.name for node in graph.nodes
                      if OP_SLOTS[node.op] in LATERAL_SLOTS and node.inputs[0] == source]
        if len(candidates) > 1:
            candidates = [name for name in candidates if not _is_residual_of(graph, name, candidates)]
        if len(candidates) != 1:
            found = "no node" if not candidates else f"several nodes {candidates}"
            raise GraphError(f"graph {graph.name!r}: consistent supervision needs one lateral per backbone level, "
                             f"but {found} of slot {'/'.join(LATERAL_SLOTS)} read(s) {source!r} directly; "
                             f"name them with the detector's cs_laterals")
        laterals[shapes[source].level] = candidates[0]
    return laterals


def check_laterals(graph: NeckGraph, names: Sequence[str], shapes: Mapping[str, NodeShape]) -> Dict[int, str]:
    """``{level: name}`` for explicitly given lateral node names (one map per distinct level)."""
    laterals: Dict[int, str] = {}
    for name in names:
        shape = shapes.get(name)
        if shape is None or shape.kind != "map" or name in graph.inputs:
            raise GraphError(f"graph {graph.name!r}: cs_laterals names {name!r}, which is not a map node")
        if shape.level in laterals:
            raise GraphError(f"graph {graph.name!r}: cs_laterals {laterals[shape.level]!r} and {name!r} "
                             f"are both at level {shape.level}")
        laterals[shape.level] = name
    return dict(sorted(laterals.items()))


def _is_residual_of(graph: NeckGraph, name: str, candidates: Sequence[str]) -> bool:
    """Whether every reader of ``name`` is a fusion that adds it (as a source) into another candidate."""
    readers = [node for node in graph.nodes if name in node.inputs]
    return bool(readers) and name not in graph.outputs and all(
        node.inputs[0] in candidates and node.inputs[0] != name and OP_SLOTS[node.op] in ("up", "down")
        for node in readers)
