"""The graph in words: one line per node in topological order, e.g. ``t4 = sum(l4, l5) @ P4 ×256``."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Mapping

from necksearch.catalogue.tables import PLAIN_OPS
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


def one_line(graph: NeckGraph) -> str:
    """The graph's distinctive ops with their counts and detector choices, e.g. ``mgc×4 gacarafe×3 +srs``
    (``fpn-like`` when it only uses FPN's own ops); for leaderboards."""
    counts: dict = {}
    for node in graph.topological_order():
        if node.op not in PLAIN_OPS:
            counts[node.op] = counts.get(node.op, 0) + 1
    parts = [f"{op}×{count}" if count > 1 else op for op, count in counts.items()] or ["fpn-like"]
    detector = graph.detector
    flags = [("srs", detector.roi_extractor == "srs"), ("cs", detector.consistent_supervision > 0),
             ("dropblock", detector.output_dropblock is not None)]
    return " ".join(parts + [f"+{name}" for name, on in flags if on])


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
