"""A graph at another pyramid width: the width-tied arguments of its nodes scale with it (no torch)."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from necksearch.catalogue.tables import INPUT_BOUNDED_ARGS, OP_DEFAULTS, WIDTH_SCALED_ARGS
from necksearch.graph.nodes import Node

if TYPE_CHECKING:
    from necksearch.graph.graph import NeckGraph


def with_channels(graph: "NeckGraph", channels: int, in_channels: Optional[Mapping[str, int]] = None) -> "NeckGraph":
    """``graph`` at width ``channels`` (see ``NeckGraph.with_channels``)."""
    ratio = channels / graph.channels
    nodes = tuple(_scaled(node, ratio, in_channels) for node in graph.nodes)
    return dataclasses.replace(graph, channels=channels, nodes=nodes)


def _scaled(node: Node, ratio: float, in_channels: Optional[Mapping[str, int]]) -> Node:
    """``node`` with its width-tied arguments (given, or defaulted) times ``ratio``; an argument left to the
    graph width (a context's ``context_channels``) follows the graph by itself."""
    keys = [key for key in WIDTH_SCALED_ARGS.get(node.op, ()) if key in node.args or key in OP_DEFAULTS[node.op]]
    if not keys:
        return node
    args: Dict[str, Any] = dict(node.args)
    for key in keys:
        args[key] = _times(args.get(key, OP_DEFAULTS[node.op].get(key)), ratio)
    bounded = INPUT_BOUNDED_ARGS.get(node.op)
    if bounded is not None and in_channels is not None:
        args[bounded] = [min(count, in_channels.get(name, count)) for count, name in zip(args[bounded], node.inputs)]
    for key in keys:  # a default that stays the default stays unwritten, as everywhere in a graph
        if key not in node.args and args[key] == OP_DEFAULTS[node.op].get(key):
            del args[key]
    return node if args == dict(node.args) else dataclasses.replace(node, args=args)


def _times(value: Any, ratio: float) -> Any:
    """An integer (or each of a list of them) times ``ratio``, rounded, at least 1."""
    if isinstance(value, (list, tuple)):
        return [_times(item, ratio) for item in value]
    return max(1, round(value * ratio))
