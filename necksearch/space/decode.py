"""``sample_of``: find the sample of a space that freezes to a given graph, exactly.

A depth-first search over the template's choices. A run takes the first candidate of every choice
and leaves the other candidates on a stack as prefixes of decided values; a later run replays such a
prefix from the start (define-by-run functions cannot be resumed) and goes on the same way. Two things
keep it short: candidate values come from the graph itself (the op hyper-parameters actually present, the
detector fields, the operations used), and every node the template emits is checked at once against
the Merkle identities of the target's nodes (op, args, level, identities of the inputs — the scheme of
``canonical_hash``, so node names and order do not matter): a node the target lacks ends the branch.
A complete run counts only if its graph's ``canonical_hash`` equals the target's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from necksearch.graph import GraphError, NeckGraph, Node
from necksearch.graph.hashing import input_identity, node_identities, node_identity
from necksearch.graph.shapes import out_level
from necksearch.graph.structure import backbone_level, reachable_from_outputs
from necksearch.graph.values import thaw
from necksearch.space.schema import Param, arg_default

if TYPE_CHECKING:
    from necksearch.space.space import SearchSpace

#: Template runs allowed per decode before giving up (the shipped spaces need at most a few dozen).
MAX_RUNS = 200_000


class _Prune(Exception):
    pass


class Target:
    """What the decoder needs to know about the graph it decodes."""

    def __init__(self, graph: NeckGraph) -> None:
        self.graph = graph
        self.hash = graph.canonical_hash()
        ids = node_identities(graph)
        by_name = {node.name: node for node in graph.nodes}
        reachable = reachable_from_outputs(graph)
        self.nodes = [by_name[name] for name in reachable]
        self.ids = {ids[name] for name in reachable}
        self.ops = {node.op for node in self.nodes}

    def observed(self, param: Param) -> Optional[List[Any]]:
        """Values the graph holds for ``param`` (``None``: unknown, try every choice)."""
        if param.source is None or param.source[0] == "ops":
            return None
        where, field = param.source
        if where == "graph":
            return [getattr(self.graph, field)]
        if where == "detector":
            return [thaw(getattr(self.graph.detector, field))]
        values = []
        for node in self.nodes:
            if node.op == where:
                if field in node.args:
                    values.append(thaw(node.args[field]))
                else:
                    nullable = [None] if param.domain.nullable else []
                    values += [arg_default(where, field, self.graph.channels)] + nullable
        return values


class DecodeAsk:
    """The ``ask`` of one decoding run: decided values from ``prefix``, then a branch point."""

    def __init__(self, space: SearchSpace, target: Target, prefix: Tuple[Any, ...],
                 stack: List[Tuple[Any, ...]]) -> None:
        self.space, self.target, self.prefix, self.stack = space, target, prefix, stack
        self.decided: List[Any] = []
        self.sample: Dict[str, Any] = {}
        self.values: Dict[str, Any] = {}
        self.levels: Dict[str, Optional[int]] = {n: backbone_level(n) for n in target.graph.inputs}
        self.ids = {n: input_identity(n) for n in target.graph.inputs}

    def __call__(self, name: str, level: Optional[int] = None) -> Any:
        return self.space._ask(self, name, level)

    def choose(self, label: str, param: Param, dist: Any) -> Any:
        if len(self.decided) < len(self.prefix):
            value = self.prefix[len(self.decided)]
        else:
            candidates = self._candidates(param, dist)
            if not candidates:
                raise _Prune()
            decided = tuple(self.decided)
            self.stack.extend(decided + (other,) for other in reversed(candidates[1:]))
            value = candidates[0]
        self.decided.append(value)
        return value

    def _candidates(self, param: Param, dist: Any) -> List[Any]:
        if param.source is not None and param.source[0] == "ops":
            present = [c for c in dist.names if dist.value(c) in self.target.ops]
            return present + [c for c in dist.names if dist.value(c) == "none"]  # "none" last: rarely right
        return dist.candidates(self.target.observed(param))

    def on_node(self, node: Node) -> None:
        if any(name not in self.ids for name in node.inputs):
            raise _Prune()  # an input the target does not have (e.g. another backbone level)
        level = out_level(node, [self.levels[name] for name in node.inputs])
        identity = node_identity(node, level, [self.ids[name] for name in node.inputs])
        if identity not in self.target.ids:
            raise _Prune()
        self.ids[node.name], self.levels[node.name] = identity, level


def decode(space: SearchSpace, graph: NeckGraph) -> Optional[Dict[str, Any]]:
    """The sample of ``space`` whose frozen graph has ``graph``'s canonical hash, or ``None``."""
    try:
        target = Target(graph)
    except GraphError:
        return None
    stack: List[Tuple[Any, ...]] = [()]
    for _ in range(MAX_RUNS):
        if not stack:
            return None
        ask = DecodeAsk(space, target, stack.pop(), stack)
        try:
            built = space._build(ask)
        except _Prune:
            continue
        if built.canonical_hash() == target.hash:
            return dict(ask.sample)
    from necksearch.space.errors import SpaceError
    raise SpaceError(f"space {space.name!r}: decoding graph {graph.name!r} took more than {MAX_RUNS} runs")
