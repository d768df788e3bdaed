"""Shape inference: every node's level, width and kind before any forward pass (detectron2's ShapeSpec).

Each node follows its op's :class:`~necksearch.catalogue.slot.Slot`: the level rule, which input may be a context, the
width argument and the shape rule (:data:`_RULES`, keyed by ``Slot.output``). The first input of a fusion is its
*target*: the output has the target's level and width.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, Optional

from necksearch.catalogue.slot import SLOTS, Slot
from necksearch.catalogue.tables import OP_SLOTS, SAME_WIDTH_OPS, VARIADIC_OPS
from necksearch.graph.errors import GraphError, field_error
from necksearch.graph.nodes import MAX_LEVEL, Node
from necksearch.graph.structure import backbone_level, check_structure

if TYPE_CHECKING:
    from necksearch.graph.graph import NeckGraph


#: Backbone widths assumed when none are given (ResNet-50).
RESNET50_WIDTHS: Dict[str, int] = {"c2": 256, "c3": 512, "c4": 1024, "c5": 2048}


@dataclasses.dataclass(frozen=True)
class NodeShape:
    """What a node (or backbone input) produces.

    Attributes:
        level: stride exponent (``None`` for a context).
        channels: output width (``context_channels`` for a context).
        kind: ``"map"`` or ``"context"``.
        scale: 2^|level difference| of a fusion (``None`` when its sources differ) or of an extra level.
    """

    level: Optional[int]
    channels: int
    kind: str = "map"
    scale: Optional[int] = None


def out_level(node: Node, input_levels: List[Optional[int]]) -> Optional[int]:
    """Level a node writes (its slot's level rule): its first input's, one above it for a coarser one unless the
    node gives it, none for a context."""
    rule = SLOTS[OP_SLOTS[node.op]].level
    if rule == "none":
        return None
    if rule == "coarser" and node.level is not None:
        return node.level
    first = input_levels[0]
    return None if first is None else first + (rule == "coarser")


def propagate(graph: NeckGraph, in_channels: Mapping[str, int] | None = None) -> Dict[str, NodeShape]:
    """Shapes of the backbone inputs then of every node in topological order; checks every slot rule."""
    order = check_structure(graph)
    shapes = _backbone_shapes(graph, RESNET50_WIDTHS if in_channels is None else in_channels)
    for node in order:
        shapes[node.name] = _node_shape(graph, node, [shapes[name] for name in node.inputs])
    return shapes


def _backbone_shapes(graph: NeckGraph, widths: Mapping[str, int]) -> Dict[str, NodeShape]:
    shapes = {}
    for name in graph.inputs:
        width = widths.get(name)
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise GraphError(f"in_channels: backbone input {name!r} needs a positive width, got {width!r}")
        shapes[name] = NodeShape(backbone_level(name), width)
    return shapes


def _node_shape(graph: NeckGraph, node: Node, inputs: List[NodeShape]) -> NodeShape:
    slot = SLOTS[OP_SLOTS[node.op]]
    _check_kinds(node, slot, inputs)
    level = out_level(node, [shape.level for shape in inputs])
    _check_level(node, slot, inputs[0], level)
    return _RULES[slot.output](graph, node, inputs, level)


def _check_kinds(node: Node, slot: Slot, inputs: List[NodeShape]) -> None:
    """Only a node whose slot reads a context (distribute) gets one, and only at that input."""
    for index, (name, shape) in enumerate(zip(node.inputs, inputs)):
        wants_context = index == slot.context_input
        if shape.kind == "context" and not wants_context:
            raise field_error(f"node {node.name!r}", "inputs", f"{name!r} is a context; only a "
                                                                 f"{'/'.join(_CONTEXT_READERS)} node reads one, as "
                                                                 "its second input")
        if wants_context and shape.kind != "context":
            raise field_error(f"node {node.name!r}", "inputs", f"the second input of a {slot.name} node must be "
                                                                 f"a context, got the map {name!r}")


def _check_level(node: Node, slot: Slot, first: NodeShape, level: Optional[int]) -> None:
    where = f"node {node.name!r}"
    if slot.level == "coarser" and level <= first.level:
        raise field_error(where, "level", f"an extra level must be coarser than its input "
                                          f"{node.inputs[0]!r} (level {first.level}), got {level}")
    if level is not None and level > MAX_LEVEL:
        raise field_error(where, "level", f"level {level} is beyond the coarsest level {MAX_LEVEL}")
    if node.level is not None and node.level != level:
        found = "a context, which has no level" if level is None else f"level {level}"
        raise field_error(where, "level", f"given as {node.level} but the inputs make it {found}")


def _width(graph: NeckGraph, node: Node) -> int:
    key = SLOTS[OP_SLOTS[node.op]].width_arg
    value = node.args.get(key, graph.channels)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise field_error(f"node {node.name!r}", "args", f"{key} must be a positive integer, got {value!r}")
    return value


def _projection(graph: NeckGraph, node: Node, inputs: List[NodeShape], level: Optional[int]) -> NodeShape:
    return NodeShape(level, _width(graph, node))


def _context(graph: NeckGraph, node: Node, inputs: List[NodeShape], level: Optional[int]) -> NodeShape:
    return NodeShape(None, _width(graph, node), "context")


def _unary(graph: NeckGraph, node: Node, inputs: List[NodeShape], level: Optional[int]) -> NodeShape:
    return NodeShape(level, inputs[0].channels)


def _extra(graph: NeckGraph, node: Node, inputs: List[NodeShape], level: Optional[int]) -> NodeShape:
    width, source = _width(graph, node), inputs[0]
    if node.op in SAME_WIDTH_OPS and width != source.channels:
        raise field_error(f"node {node.name!r}", "inputs", f"op {node.op!r} keeps the width, but its input "
                                                           f"{node.inputs[0]!r} has {source.channels} channels, "
                                                           f"not {width}")
    return NodeShape(level, width, scale=2 ** (level - source.level))


def _fusion(graph: NeckGraph, node: Node, inputs: List[NodeShape], level: Optional[int]) -> NodeShape:
    target, sources = inputs[0], inputs[1:]
    _check_direction(node, target, sources)
    for name, shape in zip(node.inputs[1:], sources):
        if shape.channels != target.channels:
            raise field_error(f"node {node.name!r}", "inputs", f"fusion inputs need equal widths: "
                                                               f"{node.inputs[0]!r} has {target.channels} "
                                                               f"channels, {name!r} has {shape.channels}")
    steps = {abs(shape.level - target.level) for shape in sources}
    return NodeShape(level, target.channels, scale=2 ** steps.pop() if len(steps) == 1 else None)


def _check_direction(node: Node, target: NodeShape, sources: List[NodeShape]) -> None:
    """Up-fusion sources are coarser than the target, down-fusion ones finer (sum and concat: any)."""
    if node.op in VARIADIC_OPS:
        return
    up = SLOTS[OP_SLOTS[node.op]].source == "coarser"
    for name, shape in zip(node.inputs[1:], sources):
        if (shape.level > target.level) != up or shape.level == target.level:
            side = "coarser (a higher level)" if up else "finer (a lower level)"
            raise field_error(f"node {node.name!r}", "inputs",
                              f"the source {name!r} (level {shape.level}) of {OP_SLOTS[node.op]}-fusion "
                              f"{node.op!r} must be {side} than the target {node.inputs[0]!r} "
                              f"(level {target.level})")


#: The slots whose nodes read a context (for error messages).
_CONTEXT_READERS = tuple(sorted(name for name, slot in SLOTS.items() if slot.context_input is not None))

_Rule = Callable[["NeckGraph", "Node", List[NodeShape], Optional[int]], NodeShape]
#: The shape rules, by ``Slot.output``.
_RULES: Dict[str, _Rule] = {"projection": _projection, "context": _context, "same": _unary, "extra": _extra,
                            "fusion": _fusion}
