"""Structural checks of a neck graph (names, operations, arities, references) and its topological order."""
from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Dict, Iterable, List, Tuple

from necksearch.catalogue.slot import SLOTS
from necksearch.catalogue.tables import INPUT_COUNT_ARGS, OP_ARGS, OP_SLOTS, WIDTH_ARGS, arity
from necksearch.graph.errors import GraphError, field_error
from necksearch.graph.nodes import MAX_LEVEL, Node

if TYPE_CHECKING:
    from necksearch.graph.graph import NeckGraph

_BACKBONE_LEVEL = re.compile(r"c([0-9]{1,2})")


def backbone_level(name: str) -> int:
    """Level ``k`` of a backbone input named ``c<k>``."""
    match = _BACKBONE_LEVEL.fullmatch(name)
    if match is None or int(match.group(1)) > MAX_LEVEL:
        raise field_error("graph", "inputs", f"{name!r} is not a backbone level name c<k> "
                                             f"(stride 2^k, k <= {MAX_LEVEL})")
    return int(match.group(1))


def check_structure(graph: NeckGraph) -> Tuple[Node, ...]:
    """Check names, operations, arities and references; return the nodes in topological order."""
    _check_inputs(graph.inputs)
    _check_names(graph)
    for node in graph.nodes:
        _check_op(node)
        _check_arity(node)
        _check_args(node)
    _check_references(graph)
    return topological_order(graph)


def _check_inputs(inputs: Tuple[str, ...]) -> None:
    if not inputs:
        raise field_error("graph", "inputs", "a neck needs at least one backbone input")
    levels = [backbone_level(name) for name in inputs]
    if any(a >= b for a, b in zip(levels, levels[1:])):
        raise field_error("graph", "inputs", f"backbone levels must be distinct and increasing, got {list(inputs)}")


def _check_names(graph: NeckGraph) -> None:
    seen: Dict[str, int] = {}
    for index, node in enumerate(graph.nodes):
        if node.name in graph.inputs:
            raise field_error(f"node {node.name!r}", "name", f"clashes with the backbone input {node.name!r}")
        if node.name in seen:
            raise field_error(f"node {node.name!r}", "name",
                              f"duplicate node name (nodes[{seen[node.name]}] and nodes[{index}])")
        seen[node.name] = index


def _check_op(node: Node) -> None:
    where = f"node {node.name!r}"
    if node.op not in OP_SLOTS:
        raise field_error(where, "op", f"unknown operation {node.op!r}{_suggest(node.op, OP_SLOTS)}")
    if not SLOTS[OP_SLOTS[node.op]].is_node:
        raise field_error(where, "op", f"{node.op!r} is a RoI-side operation, not a neck node; "
                                       "select it with detector.roi_extractor")


def _check_arity(node: Node) -> None:
    fewest, most = arity(node.op)
    count = len(node.inputs)
    if count < fewest or (most is not None and count > most):
        wanted = f"exactly {fewest}" if fewest == most else f"at least {fewest}"
        raise field_error(f"node {node.name!r}", "inputs",
                          f"op {node.op!r} (slot {OP_SLOTS[node.op]}) takes {wanted} input(s), got {count}")


def _check_args(node: Node) -> None:
    slot = OP_SLOTS[node.op]
    accepted = OP_ARGS[node.op] | ({WIDTH_ARGS[slot]} if slot in WIDTH_ARGS else set())
    for key in node.args:
        if key not in accepted:
            raise field_error(f"node {node.name!r}", "args",
                              f"op {node.op!r} has no argument {key!r}{_suggest(key, accepted)}; "
                              f"it takes {', '.join(sorted(accepted)) or 'none'}")
    count = INPUT_COUNT_ARGS.get(node.op)
    if count is not None and node.args[count] != len(node.inputs):
        raise field_error(f"node {node.name!r}", "args",
                          f"{count} is {node.args[count]!r} but the node has {len(node.inputs)} inputs")


def _check_references(graph: NeckGraph) -> None:
    known = set(graph.inputs) | {node.name for node in graph.nodes}
    for node in graph.nodes:
        for name in node.inputs:
            if name not in known:
                raise field_error(f"node {node.name!r}", "inputs", f"unknown input {name!r}{_suggest(name, known)}")


def topological_order(graph: NeckGraph) -> Tuple[Node, ...]:
    """Nodes ordered so that each follows its inputs, as close to the written order as that allows.

    Every input must exist (``check_structure`` checks that first); a cycle is named.
    """
    done = set(graph.inputs)
    order: List[Node] = []
    remaining = list(graph.nodes)
    while remaining:
        index = next((i for i, node in enumerate(remaining) if done.issuperset(node.inputs)), None)
        if index is None:
            raise _cycle_error(remaining)
        order.append(remaining.pop(index))
        done.add(order[-1].name)
    return tuple(order)


def _cycle_error(stuck: List[Node]) -> GraphError:
    """A ``GraphError`` naming one cycle among nodes that wait on each other (their inputs all exist)."""
    by_name = {node.name: node for node in stuck}
    path, node = [], stuck[0]
    while node.name not in path:
        path.append(node.name)
        node = next(by_name[name] for name in node.inputs if name in by_name)
    cycle = path[path.index(node.name):] + [node.name]
    return field_error(f"node {node.name!r}", "inputs", f"cycle {' -> '.join(reversed(cycle))}")


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def reachable_from_outputs(graph: NeckGraph) -> set:
    """Names of the nodes whose result reaches some output."""
    by_name = {node.name: node for node in graph.nodes}
    reached, pending = set(), list(graph.outputs)
    while pending:
        name = pending.pop()
        if name in by_name and name not in reached:
            reached.add(name)
            pending.extend(by_name[name].inputs)
    return reached
