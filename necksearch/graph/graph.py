"""``NeckGraph``: a neck as a frozen DAG of node operations (pure data, no torch).

Constructing a graph checks the types of its fields; :meth:`NeckGraph.validate` checks its meaning
(operations, references, slot rules, levels, widths, outputs). Both raise ``GraphError``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

from necksearch.graph import describe, hashing, scaling, serial, structure, validate
from necksearch.graph.errors import GraphError, field_error
from necksearch.graph.nodes import DetectorChoices, Node
from necksearch.graph.shapes import NodeShape
from necksearch.graph.values import check_int, check_names, check_str

#: The widest pyramid a graph may ask for: the papers use 256; far wider would exhaust memory, not search.
MAX_CHANNELS = 4096


@dataclasses.dataclass(frozen=True, kw_only=True)
class NeckGraph:
    """A feature-pyramid neck: backbone levels in, node operations, pyramid levels out.

    Attributes:
        name: metadata (not hashed).
        channels: the pyramid width c; every output has it.
        inputs: backbone levels ``c<k>`` (stride 2^k), increasing.
        nodes: the operations, in any order that forms a DAG.
        outputs: node names, levels strictly increasing (p2, p3, ...).
        detector: detector-level choices that are not nodes.
        paper: metadata (not hashed): where the architecture comes from.
    """

    name: str
    channels: int = 256
    inputs: Tuple[str, ...] = ("c2", "c3", "c4", "c5")
    nodes: Tuple[Node, ...]
    outputs: Tuple[str, ...]
    detector: DetectorChoices = DetectorChoices()
    paper: str = ""

    def __post_init__(self) -> None:
        check_str(self.name, "graph", "name")
        check_str(self.paper, "graph", "paper")
        check_int(self.channels, "graph", "channels", maximum=MAX_CHANNELS)
        object.__setattr__(self, "inputs", check_names(self.inputs, "graph", "inputs"))
        object.__setattr__(self, "outputs", check_names(self.outputs, "graph", "outputs"))
        if not isinstance(self.nodes, (list, tuple)) or not all(isinstance(n, Node) for n in self.nodes):
            raise field_error("graph", "nodes", f"expected a list of Node, got {self.nodes!r}")
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if not isinstance(self.detector, DetectorChoices):
            raise field_error("graph", "detector", f"expected DetectorChoices, got {type(self.detector).__name__}")

    def validate(self, in_channels: Mapping[str, int] | None = None) -> None:
        """Raise ``GraphError`` naming the node and field at fault, if any.

        Args:
            in_channels: width of each backbone input (default ResNet-50: c2..c5 = 256..2048).
        """
        validate.infer_shapes(self, in_channels)

    def infer_shapes(self, in_channels: Mapping[str, int] | None = None) -> Dict[str, NodeShape]:
        """Validate, then return the shape of every backbone input and node (inputs first, then topological)."""
        return validate.infer_shapes(self, in_channels)

    def topological_order(self) -> Tuple[Node, ...]:
        """The nodes, each after its inputs and otherwise in written order.

        Raises ``GraphError`` on a structural fault (unknown op or input, duplicate name, arity) or a cycle.
        """
        return structure.check_structure(self)

    def with_channels(self, channels: int, in_channels: Mapping[str, int] | None = None) -> NeckGraph:
        """The same graph at pyramid width ``channels``, its width-tied arguments scaled with it.

        The arguments in ``necksearch.catalogue.tables.WIDTH_SCALED_ARGS`` keep their ratio to the pyramid width:
        an A²-FPN-Lite at width 64 has MGC context 32 (the paper's c/2) and entities n_i = 32..8 (the paper's
        n_i = 32(6-i) at 256). With backbone widths ``in_channels``, n_i is also capped at c_i so that the
        orthogonality of Eq. 2 (W_ψ W_ψᵀ = I, n_i ≤ c_i) can hold.
        """
        return scaling.with_channels(self, channels, in_channels)

    def canonical_hash(self) -> str:
        """sha256 hex, equal for the same architecture whatever the node order and names."""
        return hashing.canonical_hash(self)

    def summary(self, in_channels: Mapping[str, int] | None = None) -> str:
        """The graph in words, one line per node: ``t4 = sum(l4, l5) @ P4 ×256``."""
        return describe.summary(self, in_channels)

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON data (``from_dict`` reads it back to an equal graph)."""
        return serial.graph_to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> NeckGraph:
        """Read plain data; ``GraphError`` names ``source`` and the key at fault (meaning is not validated)."""
        fields = serial.graph_fields(data, source)
        try:
            return cls(**fields)
        except GraphError as error:
            raise GraphError(f"{source}: {error}") from None

    def to_yaml(self) -> str:
        """YAML text in the format of :mod:`necksearch.graph.serial`."""
        return serial.dump_yaml(self.to_dict())

    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> NeckGraph:
        """Read YAML text; ``GraphError`` names ``source`` and the key at fault."""
        return cls.from_dict(serial.load_yaml(text, source), source)

    def to_json(self) -> str:
        """Indented JSON text."""
        return serial.dump_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str, source: str = "<string>") -> NeckGraph:
        """Read JSON text; ``GraphError`` names ``source`` and the key at fault."""
        return cls.from_dict(serial.load_json(text, source), source)


def load_graph(path: str | Path) -> NeckGraph:
    """Read a graph from a ``.yaml``, ``.yml`` or ``.json`` file (not validated: call ``validate``)."""
    path = Path(path)
    readers = {".yaml": NeckGraph.from_yaml, ".yml": NeckGraph.from_yaml, ".json": NeckGraph.from_json}
    if path.suffix not in readers:
        raise GraphError(f"{path}: unknown graph file type {path.suffix!r}; use .yaml, .yml or .json")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise GraphError(f"{path}: cannot read the graph file: {error}") from None
    return readers[path.suffix](text, str(path))
