"""A canonical hash of a neck graph: the same for the same architecture however it is written or named."""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence

from necksearch.catalogue.tables import OP_DEFAULTS, OP_REVISIONS
from necksearch.graph.errors import field_error
from necksearch.graph.nodes import Node
from necksearch.graph.serial import detector_to_dict
from necksearch.graph.shapes import out_level
from necksearch.graph.structure import backbone_level, check_structure
from necksearch.graph.values import thaw

if TYPE_CHECKING:
    from necksearch.graph.graph import NeckGraph


def canonical_hash(graph: NeckGraph) -> str:
    """sha256 hex of the architecture (Merkle-style over the nodes; ``name`` and ``paper`` left out).

    A node's identity hashes its op (with the op's revision after the first: ``OpRecord.revision``), args that
    differ from the op's defaults, effective level and its inputs' identities in order, so node order, node names
    and spelled-out defaults do not matter. Raises ``GraphError`` if the graph is not a DAG of known operations.
    """
    identities = node_identities(graph)
    for name in graph.outputs:
        if name not in identities:
            raise field_error("graph", "outputs", f"unknown output {name!r}")
    return _digest({"channels": graph.channels, "inputs": list(graph.inputs),
                    "outputs": [identities[name] for name in graph.outputs],
                    "detector": detector_to_dict(graph.detector)})


def node_identities(graph: NeckGraph) -> Dict[str, str]:
    """The identity of every backbone input and node, by name."""
    levels: Dict[str, Optional[int]] = {name: backbone_level(name) for name in graph.inputs}
    identities = {name: input_identity(name) for name in graph.inputs}
    for node in check_structure(graph):
        levels[node.name] = out_level(node, [levels[name] for name in node.inputs])
        identities[node.name] = node_identity(node, levels[node.name], [identities[name] for name in node.inputs])
    return identities


def input_identity(name: str) -> str:
    """Identity of the backbone input ``name``."""
    return _digest(["input", name])


def node_identity(node: Node, level: Optional[int], input_identities: Sequence[str]) -> str:
    """Identity of ``node`` at ``level`` reading inputs of the given identities, in order."""
    return _digest([revised_op(node.op), explicit_args(node), level, list(input_identities)])


def revised_op(op: str) -> str:
    """``op`` with its revision after the first (``OpRecord.revision``): ``rt@2``. The first is not spelled, so that
    graphs (and supernet candidates) of ops never revised keep the hashes they always had."""
    revision = OP_REVISIONS[op]
    return op if revision == 1 else f"{op}@{revision}"


def explicit_args(node: Node) -> Dict[str, Any]:
    """The node's args without those equal to the op's defaults: writing a default changes nothing."""
    defaults = OP_DEFAULTS[node.op]
    return {key: value for key, value in thaw(node.args).items() if defaults.get(key, _MISSING) != value}


_MISSING = object()


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
