"""The graph in words: one line per node in topological order, e.g. ``t4 = sum(l4, l5) @ P4 ×256``."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Mapping

from necksearch.graph.nodes import DetectorChoices, Node
from necksearch.graph.serial import detector_to_dict
from necksearch.graph.shapes import NodeShape
from necksearch.graph.values import thaw

if TYPE_CHECKING:
    from necksearch.graph.graph import NeckGraph


def summary(graph: NeckGraph, in_channels: Mapping[str, int] | None = None) -> str:
    """A header, one line per node in topological order, and the detector choices if not the defaults."""
    shapes = graph.infer_shapes(in_channels)
    lines = [f"{graph.name}: {' '.join(graph.inputs)} -> {' '.join(graph.outputs)}, {graph.channels} channels"]
    lines += [f"  {node_line(node, shapes[node.name])}" for node in graph.topological_order()]
    if graph.detector != DetectorChoices():
        defaults = detector_to_dict(DetectorChoices())
        changed = {k: v for k, v in detector_to_dict(graph.detector).items() if v != defaults[k]}
        lines.append(f"  detector: {_keywords(changed)}")
    return "\n".join(lines)


def node_line(node: Node, shape: NodeShape) -> str:
    """``name = op(inputs; args) @ P<level> ×<channels>`` (``@ context`` for a context)."""
    args = f"; {_keywords(node.args)}" if node.args else ""
    place = "context" if shape.level is None else f"P{shape.level}"
    return f"{node.name} = {node.op}({', '.join(node.inputs)}{args}) @ {place} ×{shape.channels}"


def _keywords(values: Mapping) -> str:
    return ", ".join(f"{key}={_text(value)}" for key, value in values.items())


def _text(value: object) -> str:
    plain = thaw(value)
    return plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False)
