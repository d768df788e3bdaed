"""Whole-graph validation: slot rules (via shape inference), outputs, dead nodes and detector choices."""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Mapping

from necksearch.catalogue.tables import DETECTOR_OPS, OP_ARGS, ORTHOGONAL_LOSS_OPS, ROI_EXTRACTORS
from necksearch.graph.errors import field_error
from necksearch.graph.shapes import NodeShape, propagate
from necksearch.graph.structure import reachable_from_outputs

if TYPE_CHECKING:
    from necksearch.graph.graph import NeckGraph


def infer_shapes(graph: NeckGraph, in_channels: Mapping[str, int] | None = None) -> Dict[str, NodeShape]:
    """Check the whole graph and return the shape of every backbone input and node."""
    shapes = propagate(graph, in_channels)
    _check_outputs(graph, shapes)
    _check_dead_nodes(graph)
    _check_detector(graph)
    return shapes


def _check_outputs(graph: NeckGraph, shapes: Dict[str, NodeShape]) -> None:
    if not graph.outputs:
        raise field_error("graph", "outputs", "a neck needs at least one output")
    previous = None
    for name in graph.outputs:
        shape = _output_shape(graph, shapes, name)
        if previous is not None and shape.level <= previous:
            raise field_error("graph", "outputs", f"levels must strictly increase (p2, p3, ...): {name!r} is at "
                                                  f"level {shape.level} after level {previous}")
        previous = shape.level


def _output_shape(graph: NeckGraph, shapes: Dict[str, NodeShape], name: str) -> NodeShape:
    if name in graph.inputs:
        raise field_error("graph", "outputs", f"{name!r} is a backbone input; outputs name nodes")
    if name not in shapes:
        raise field_error("graph", "outputs", f"unknown output {name!r}")
    shape = shapes[name]
    if shape.kind == "context":
        raise field_error("graph", "outputs", f"{name!r} is a context, not a feature map")
    if shape.channels != graph.channels:
        raise field_error("graph", "outputs", f"{name!r} has {shape.channels} channels, "
                                              f"the graph width is {graph.channels}")
    return shape


def _check_dead_nodes(graph: NeckGraph) -> None:
    """Every node must feed some output."""
    used = reachable_from_outputs(graph)
    for node in graph.nodes:
        if node.name not in used:
            raise field_error(f"node {node.name!r}", "name", "dead node: its result reaches no output")


def _check_detector(graph: NeckGraph) -> None:
    detector = graph.detector
    if detector.roi_extractor not in ROI_EXTRACTORS:
        raise field_error("detector", "roi_extractor", f"expected one of {', '.join(ROI_EXTRACTORS)}, "
                                                       f"got {detector.roi_extractor!r}")
    dropblock = DETECTOR_OPS["output_dropblock"]
    unknown = sorted(set(detector.output_dropblock or ()) - OP_ARGS[dropblock])
    if unknown:
        raise field_error("detector", "output_dropblock", f"{dropblock} has no argument {unknown[0]!r}; "
                                                          f"it takes {', '.join(sorted(OP_ARGS[dropblock]))}")
    if detector.mgc_orthogonal_weight and not any(node.op in ORTHOGONAL_LOSS_OPS for node in graph.nodes):
        raise field_error("detector", "mgc_orthogonal_weight", f"{detector.mgc_orthogonal_weight} but no node "
                                                               f"has an orthogonal loss "
                                                               f"({', '.join(sorted(ORTHOGONAL_LOSS_OPS))})")
