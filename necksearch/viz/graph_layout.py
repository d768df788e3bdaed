"""Where every box and arrow of a neck-graph drawing goes: pure data (no matplotlib, no torch).

The picture follows the papers' figures. Rows are pyramid levels, the finest at the top; the backbone
inputs ``c2..c5`` form the left column; a node's column is its depth (the longest path from an input), so
every arrow points right. Context nodes (slot ``context``, no level) sit in a band below the pyramid.
Nodes that share a level and a column are stacked in lanes inside the level's row, ordered by where their
inputs are (fewer crossings); an arrow that would cut through a box is bent around it.

Coordinates are layout units, x to the right and y upward (matplotlib's convention); one unit is one lane.
:mod:`necksearch.viz.draw_graph` turns a :class:`Layout` into a picture; tests check the layout.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from necksearch.catalogue.tables import INPUT_COUNT_ARGS, OP_DEFAULTS, OP_SLOTS
from necksearch.graph import NeckGraph, Node
from necksearch.graph.values import thaw

#: Colour classes (slots) in legend order; ``input`` is a backbone level.
SLOT_ORDER: Tuple[str, ...] = ("input", "lateral", "context", "distribute", "up", "down", "extra", "unary")

#: Edge kinds in legend order: by the levels of the two ends (``context``: either end has none).
EDGE_KINDS: Tuple[str, ...] = ("same_level", "coarse_to_fine", "fine_to_coarse", "context")

#: Short names of hyper-parameters in labels (others appear under their own name).
SHORT_ARGS: Dict[str, str] = {
    "pool_ratio": "r", "heads": "h", "num_parts": "N", "reduction": "red", "window": "win", "entities": "n",
    "up_kernel": "k_up", "down_kernel": "k_dn", "encoder_kernel": "k_en", "compressed_channels": "C_m",
    "kernel_size": "k", "drop_prob": "p", "block_size": "bs", "mlp_ratio": "mlp", "attn_dropout": "drop",
    "out_channels": "c", "context_channels": "c", "similarity": "sim", "scale_mode": "scale",
    "prior_from": "prior", "gap_transform": "gap_tf", "norm": "bn", "zero_init": "zero_γ",
    "project_after_aggregation": "proj_after", "pooling": "pool",
}

LANE = 1.0          # vertical pitch of stacked nodes
BOX_HEIGHT = 0.62
ROW_GAP = 0.5       # between two level rows
BAND_GAP = 0.9      # between the pyramid and the context band
COLUMN_GAP = 1.0    # horizontal room for the arrows between two columns
MIN_WIDTH = 1.4     # narrowest box
MAX_GAP = 3.0       # widest gap, between columns joined by steep arrows
SLOPE = 0.3         # gap per unit of the tallest rise or fall of an arrow between two adjacent columns
OP_CHAR, DETAIL_CHAR, BOX_PAD = 0.215, 0.145, 0.45   # label width estimate (DejaVu Sans at the renderer's sizes)
MAX_DETAIL = 3      # hyper-parameters shown per label
_BENDS = (0.0, 0.12, -0.12, 0.25, -0.25, 0.4, -0.4)


@dataclasses.dataclass(frozen=True)
class LayoutNode:
    """One box: a backbone input (``op`` and ``slot`` ``"input"``) or a graph node.

    Attributes:
        label: ``op`` plus the hyper-parameters that differ from the defaults (``mssa r=8``); ``C3`` for an input.
        detail: the hyper-parameter part of the label (may be empty).
        slot: the colour class (one of :data:`SLOT_ORDER`).
        level: stride exponent; ``None`` for a context.
        column: the depth (longest path from a backbone input; inputs are 0).
        width: the box's width (room for its label; a column is as wide as its widest box).
        output: ``"P<level>"`` if the node is a graph output, else ``None``.
    """

    name: str
    op: str
    slot: str
    level: Optional[int]
    column: int
    x: float
    y: float
    label: str
    detail: str = ""
    output: Optional[str] = None
    width: float = 1.8

    @property
    def is_output(self) -> bool:
        return self.output is not None


@dataclasses.dataclass(frozen=True)
class LayoutEdge:
    """One arrow from ``source`` into input ``port`` of ``target``.

    Attributes:
        kind: one of :data:`EDGE_KINDS`.
        start, end: the arrow's ends (right side of the source box, left side of the target box).
        bend: matplotlib's ``arc3`` ``rad`` (0 = straight), chosen so that the arrow misses other boxes.
    """

    source: str
    target: str
    port: int
    kind: str
    start: Tuple[float, float]
    end: Tuple[float, float]
    bend: float = 0.0


@dataclasses.dataclass(frozen=True)
class LayoutRow:
    """A horizontal band: one pyramid level (``label`` ``P3``, ``stride`` 8) or the context band (level ``None``)."""

    level: Optional[int]
    label: str
    stride: Optional[int]
    backbone: Optional[str]
    y: float
    top: float
    bottom: float
    lanes: int


@dataclasses.dataclass(frozen=True)
class Layout:
    """The drawing of a graph as data: boxes, arrows, level rows and the legend's entries.

    Attributes:
        columns: number of columns (the deepest node's depth + 1).
        box_height: the height of every box (centred on its node's x, y; widths are per node).
        extent: (left, right, bottom, top) of all boxes and rows.
        slots, edge_kinds: the colour classes and edge kinds that occur, in legend order.
    """

    name: str
    paper: str
    nodes: Tuple[LayoutNode, ...]
    edges: Tuple[LayoutEdge, ...]
    rows: Tuple[LayoutRow, ...]
    columns: int
    box_height: float
    extent: Tuple[float, float, float, float]
    slots: Tuple[str, ...]
    edge_kinds: Tuple[str, ...]

    def node(self, name: str) -> LayoutNode:
        """The box of node or backbone input ``name`` (``KeyError`` if none)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


def layout(graph: NeckGraph) -> Layout:
    """Lay out ``graph``; it is validated first (``GraphError`` if it is not a valid neck)."""
    levels = {name: shape.level for name, shape in graph.infer_shapes().items()}
    order = graph.topological_order()
    inputs = {**{name: () for name in graph.inputs}, **{node.name: node.inputs for node in order}}
    columns = _columns(graph, order)
    titles = {**{name: (name.upper(), "") for name in graph.inputs},
              **{node.name: node_label(node, graph.channels) for node in order}}
    own = {name: _label_width(*title) for name, title in titles.items()}
    widths = [max(width for name, width in own.items() if columns[name] == column)
              for column in range(max(columns.values()) + 1)]
    rows = _rows(levels, columns, graph.inputs)
    heights = _heights(inputs, columns, levels, rows)
    centres = _column_centres(widths, _gaps(order, columns, heights))
    positions = {name: (centres[columns[name]], y) for name, y in heights.items()}
    outputs = {name: f"P{levels[name]}" for name in graph.outputs}
    nodes = tuple(_layout_node(name, node, levels[name], columns[name], positions[name], titles[name],
                               outputs.get(name), own[name]) for name, node in _named(graph, order))
    edges = _edges(order, levels, positions, own)
    slots, kinds = {node.slot for node in nodes}, {edge.kind for edge in edges}
    extent = (-widths[0] / 2, centres[-1] + widths[-1] / 2,
              min(row.bottom for row in rows.values()), max(row.top for row in rows.values()))
    return Layout(name=graph.name, paper=graph.paper, nodes=nodes, edges=edges, rows=tuple(rows.values()),
                  columns=len(widths), box_height=BOX_HEIGHT, extent=extent,
                  slots=tuple(s for s in SLOT_ORDER if s in slots),
                  edge_kinds=tuple(k for k in EDGE_KINDS if k in kinds))


def node_label(node: Node, channels: int = 256) -> Tuple[str, str]:
    """(op, detail): the hyper-parameters that differ from the op's defaults, short (``("mssa", "r=8")``)."""
    defaults = OP_DEFAULTS.get(node.op, {})
    rank = {key: index for index, key in enumerate(defaults)}
    parts = []
    for key in sorted(node.args, key=lambda k: (rank.get(k, len(rank)), k)):
        value = thaw(node.args[key])
        if key == INPUT_COUNT_ARGS.get(node.op) or defaults.get(key, object()) == value:
            continue
        if key in ("out_channels", "context_channels") and value == channels:
            continue
        parts.append(_arg_text(key, value))
    detail = " ".join(parts[:MAX_DETAIL]) + (" …" if len(parts) > MAX_DETAIL else "")
    return node.op, detail


def _arg_text(key: str, value: object) -> str:
    short = SHORT_ARGS.get(key, key)
    if isinstance(value, bool):
        return short if value else f"no {short}"
    if isinstance(value, list):
        return f"{short}=" + "/".join(_scalar(item) for item in value)
    return f"{short}={_scalar(value)}"


def _scalar(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _label_width(op: str, detail: str) -> float:
    """Room for the op name (bold) and the hyper-parameter line."""
    return round(max(MIN_WIDTH, OP_CHAR * len(op) + BOX_PAD, DETAIL_CHAR * len(detail) + BOX_PAD), 2)


def _gaps(order: Sequence[Node], columns: Mapping[str, int], heights: Mapping[str, float]) -> List[float]:
    """Room after each column: wider where arrows into the next column rise or fall steeply."""
    gaps = [COLUMN_GAP] * max(columns.values())
    for node in order:
        for name in node.inputs:
            if columns[name] == columns[node.name] - 1:
                wanted = min(MAX_GAP, SLOPE * abs(heights[node.name] - heights[name]))
                gaps[columns[name]] = max(gaps[columns[name]], wanted)
    return gaps


def _column_centres(widths: Sequence[float], gaps: Sequence[float]) -> List[float]:
    centres = [0.0]
    for left, right, gap in zip(widths, widths[1:], gaps):
        centres.append(round(centres[-1] + left / 2 + gap + right / 2, 3))
    return centres


def _columns(graph: NeckGraph, order: Sequence[Node]) -> Dict[str, int]:
    """Depth of every name: 0 for a backbone input, else 1 + the deepest input."""
    depth = {name: 0 for name in graph.inputs}
    for node in order:
        depth[node.name] = 1 + max(depth[name] for name in node.inputs)
    return depth


def _rows(levels: Mapping[str, Optional[int]], columns: Mapping[str, int],
          backbone: Sequence[str]) -> Dict[Optional[int], LayoutRow]:
    """One row per level from the finest to the coarsest (no gaps), then the context band if any."""
    cells = Counter((levels[name], columns[name]) for name in levels)
    lanes: Dict[Optional[int], int] = {}
    for (level, _), count in cells.items():
        lanes[level] = max(lanes.get(level, 1), count)
    pyramid = [level for level in lanes if level is not None]
    keys = list(range(min(pyramid), max(pyramid) + 1)) + ([None] if None in lanes else [])
    spans, cursor = {}, 0.0
    for key in keys:
        cursor -= BAND_GAP - ROW_GAP if key is None else 0.0
        spans[key] = (cursor, cursor - lanes.get(key, 1) * LANE)
        cursor = spans[key][1] - ROW_GAP
    shift = -min(bottom for _, bottom in spans.values())
    return {key: _row(key, top + shift, bottom + shift, backbone) for key, (top, bottom) in spans.items()}


def _row(level: Optional[int], top: float, bottom: float, backbone: Sequence[str]) -> LayoutRow:
    lanes = round((top - bottom) / LANE)
    if level is None:
        return LayoutRow(None, "context", None, None, (top + bottom) / 2, top, bottom, lanes)
    name = f"c{level}"
    return LayoutRow(level, f"P{level}", 2 ** level, name.upper() if name in backbone else None,
                     (top + bottom) / 2, top, bottom, lanes)


def _heights(inputs: Mapping[str, Tuple[str, ...]], columns: Mapping[str, int],
             levels: Mapping[str, Optional[int]], rows: Mapping[Optional[int], LayoutRow]) -> Dict[str, float]:
    """Column by column: the nodes of one level and column are centred on the row, in lanes sorted by
    how high their inputs sit (then by graph order), so that arrows cross as little as possible."""
    index = {name: i for i, name in enumerate(inputs)}
    heights: Dict[str, float] = {}
    for column in range(max(columns.values()) + 1):
        cells: Dict[Optional[int], List[str]] = {}
        for name in inputs:
            if columns[name] == column:
                cells.setdefault(levels[name], []).append(name)
        for level, names in cells.items():
            names.sort(key=lambda n: (-_mean(heights[i] for i in inputs[n]), index[n]))
            for lane, name in enumerate(names):
                heights[name] = rows[level].y + ((len(names) - 1) / 2 - lane) * LANE
    return heights


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _named(graph: NeckGraph, order: Sequence[Node]):
    yield from ((name, None) for name in graph.inputs)
    yield from ((node.name, node) for node in order)


def _layout_node(name: str, node: Optional[Node], level: Optional[int], column: int, xy: Tuple[float, float],
                 title: Tuple[str, str], output: Optional[str], width: float) -> LayoutNode:
    op = "input" if node is None else node.op
    slot = "input" if node is None else OP_SLOTS[node.op]
    label = f"{title[0]} {title[1]}".strip()
    return LayoutNode(name, op, slot, level, column, xy[0], xy[1], label, title[1], output, width)


def edge_kind(source_level: Optional[int], target_level: Optional[int]) -> str:
    """``context`` if either end has no level, else by the direction from source to target level."""
    if source_level is None or target_level is None:
        return "context"
    if source_level == target_level:
        return "same_level"
    return "coarse_to_fine" if source_level > target_level else "fine_to_coarse"


def _edges(order: Sequence[Node], levels: Mapping[str, Optional[int]],
           positions: Mapping[str, Tuple[float, float]], widths: Mapping[str, float]) -> Tuple[LayoutEdge, ...]:
    """One arrow per input, in graph order, between the ports that :func:`_ports` gives."""
    links = [(source, node.name, port) for node in order for port, source in enumerate(node.inputs)]
    ends: Dict[int, Tuple[float, float]] = {}
    starts: Dict[int, Tuple[float, float]] = {}
    for name in positions:
        ends.update(_ports(name, [(k, s) for k, (s, t, _) in enumerate(links) if t == name], True,
                           positions, widths))
        starts.update(_ports(name, [(k, t) for k, (s, t, _) in enumerate(links) if s == name], False,
                             positions, widths))
    edges = []
    for k, (source, target, port) in enumerate(links):
        others = [(*xy, widths[name]) for name, xy in positions.items() if name not in (source, target)]
        edges.append(LayoutEdge(source, target, port, edge_kind(levels[source], levels[target]), starts[k],
                                ends[k], _bend(starts[k], ends[k], others)))
    return tuple(edges)


def _ports(name: str, links: List[Tuple[int, str]], incoming: bool, positions: Mapping[str, Tuple[float, float]],
           widths: Mapping[str, float]) -> Dict[int, Tuple[float, float]]:
    """Where the arrows of links ``k`` (to or from ``other``) meet the box of ``name``: they leave from the
    middle of its right side and enter spread over its left side, the highest source at the top."""
    (x, y), width = positions[name], widths[name]
    ports = {}
    for rank, (k, _) in enumerate(sorted(links, key=lambda link: (-positions[link[1]][1], link[0]))):
        offset = (0.5 - (rank + 0.5) / len(links)) * BOX_HEIGHT * 0.8
        ports[k] = (x - width / 2, y + offset) if incoming else (x + width / 2, y)
    return ports


def _bend(start, end, boxes) -> float:
    """The first of :data:`_BENDS` whose arc misses every other box (else the one that hits fewest)."""
    hits = [_hits(start, end, rad, boxes) for rad in _BENDS]
    return _BENDS[hits.index(min(hits))]


def _hits(start, end, rad: float, boxes, samples: int = 32) -> int:
    """Boxes (x, y, width) crossed by matplotlib's ``arc3`` path (a quadratic Bézier) from start to end."""
    (sx, sy), (ex, ey) = start, end
    cx, cy = (sx + ex) / 2 + rad * (ey - sy), (sy + ey) / 2 - rad * (ex - sx)
    half_h = BOX_HEIGHT / 2 + 0.08
    crossed = set()
    for step in range(1, samples):
        t = step / samples
        px = (1 - t) ** 2 * sx + 2 * (1 - t) * t * cx + t * t * ex
        py = (1 - t) ** 2 * sy + 2 * (1 - t) * t * cy + t * t * ey
        crossed.update(i for i, (bx, by, bw) in enumerate(boxes)
                       if abs(px - bx) < bw / 2 + 0.08 and abs(py - by) < half_h)
    return len(crossed)
