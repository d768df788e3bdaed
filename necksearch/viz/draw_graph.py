"""Render a neck graph's :class:`~necksearch.viz.graph_layout.Layout` to PNG or SVG with matplotlib.

Uses the Agg canvas directly (no pyplot, no global backend switch). Text stays text in SVG files
(``svg.fonttype: none``) so a paper's figure can be edited; PNGs are written at 200 dpi.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Tuple

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch, Rectangle

from necksearch.errors import NeckSearchError
from necksearch.graph.presets import resolve_graph
from necksearch.viz.graph_layout import Layout, LayoutEdge, LayoutNode, layout

#: File formats by extension.
FORMATS: Dict[str, str] = {".png": "png", ".svg": "svg"}

SCALE = 0.42                       # inches per layout unit (same in x and y: arcs bend as the layout assumed)
LABEL_ROOM = 2.0                   # layout units left of the input column for the level labels
FONT = {"op": 9.0, "detail": 7.5, "level": 10.0, "stride": 7.5, "title": 12.0, "paper": 9.0, "legend": 8.0}

#: (fill, outline) per colour class.
SLOT_COLOURS: Dict[str, Tuple[str, str]] = {
    "input": ("#e6e6e6", "#7f7f7f"), "lateral": ("#cfe2f3", "#3d6f9e"), "context": ("#e4d4f4", "#7a4fa3"),
    "distribute": ("#f6d5ea", "#a3477f"), "up": ("#d5ebd0", "#4d8a3e"), "down": ("#fde2c6", "#c07a2c"),
    "extra": ("#fff1b8", "#a8891c"), "unary": ("#d7ecec", "#3f8a8a"),
}
SLOT_NAMES: Dict[str, str] = {
    "input": "backbone input", "lateral": "lateral", "context": "context collector",
    "distribute": "context distributor", "up": "coarse→fine fusion", "down": "fine→coarse fusion",
    "extra": "extra level", "unary": "unary refinement",
}
#: (colour, line style, legend name) per edge kind.
EDGE_STYLES: Dict[str, Tuple[str, Any, str]] = {
    "same_level": ("#4d4d4d", "solid", "same level"), "coarse_to_fine": ("#2c6fbb", "solid", "coarse → fine"),
    "fine_to_coarse": ("#c8553d", "solid", "fine → coarse"), "context": ("#7a4fa3", (0, (3, 2)), "context"),
}
_HEAD = "-|>,head_length=0.5,head_width=0.22"
_RC = {"svg.fonttype": "none", "svg.hashsalt": "necksearch", "font.family": "DejaVu Sans"}


def draw(graph: Any, path: str | Path) -> Path:
    """Write a drawing of ``graph`` (NeckGraph, dict, preset name or graph file) to ``path`` (.png or .svg).

    Raises:
        NeckSearchError: another extension, a missing or unwritable directory, or a bad graph.
    """
    target = Path(path)
    fmt = output_format(target)
    if target.is_dir():
        raise NeckSearchError(f"{target}: cannot write the drawing: it is a directory")
    if not target.parent.is_dir():
        problem = "is not a directory" if target.parent.exists() else "does not exist"
        raise NeckSearchError(f"{target}: cannot write the drawing: {str(target.parent)!r} {problem}")
    figure = render(layout(resolve_graph(graph)))
    with matplotlib.rc_context(_RC):
        try:
            figure.savefig(target, format=fmt, dpi=200, bbox_inches="tight", pad_inches=0.08,
                           metadata={"Date": None} if fmt == "svg" else None)
        except OSError as error:
            raise NeckSearchError(f"{target}: cannot write the drawing: {error.strerror or error}") from None
    return target


def output_format(path: str | Path) -> str:
    """``png`` or ``svg`` from the file extension, else ``NeckSearchError`` naming it."""
    suffix = Path(path).suffix
    if suffix.lower() not in FORMATS:
        found = f"extension {suffix!r}" if suffix else "no extension"
        raise NeckSearchError(f"{path}: cannot draw to a file with {found}; use .png or .svg")
    return FORMATS[suffix.lower()]


def render(lay: Layout) -> Figure:
    """A matplotlib Figure of the layout, sized so that one layout unit is :data:`SCALE` inches."""
    left, right, bottom, top = lay.extent
    x0, x1, y0, y1 = left - LABEL_ROOM, right + 0.5, bottom - 0.35, top + 0.35
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=((x1 - x0) * SCALE, (y1 - y0) * SCALE))
        FigureCanvasAgg(figure)
        axes = figure.add_axes((0, 0, 1, 1))
        axes.set_xlim(x0, x1)
        axes.set_ylim(y0, y1)
        axes.axis("off")
        _draw_rows(axes, lay, x0, x1)
        for edge in lay.edges:
            _draw_edge(axes, edge)
        for node in lay.nodes:
            _draw_node(axes, node, lay.box_height)
        _draw_title(axes, lay, (x0 + x1) / 2, y1, x1 - x0)
        _draw_legend(axes, lay, x1 - x0)
    return figure


def _draw_rows(axes, lay: Layout, x0: float, x1: float) -> None:
    """Shaded level bands with ``P3`` / ``stride 8`` on the left; the context band tinted."""
    label_x = lay.extent[0] - 0.3
    for index, row in enumerate(lay.rows):
        shade = "#f5effa" if row.level is None else ("#f3f3f3" if index % 2 == 0 else "#fafafa")
        axes.add_patch(Rectangle((x0 + 0.1, row.bottom - 0.22), x1 - x0 - 0.2, row.top - row.bottom + 0.44,
                                 facecolor=shade, edgecolor="none", zorder=0))
        if row.level is None:
            axes.text(label_x, row.y, "context", ha="right", va="center", fontsize=FONT["stride"] + 1,
                      style="italic", color="#5e3d80")
            continue
        axes.text(label_x, row.y + 0.13, row.label, ha="right", va="center", fontsize=FONT["level"],
                  fontweight="bold", color="#333333")
        axes.text(label_x, row.y - 0.24, f"stride {row.stride}", ha="right", va="center",
                  fontsize=FONT["stride"], color="#555555")


def _draw_edge(axes, edge: LayoutEdge) -> None:
    """The arrow along the layout's arc; a dashed arrow gets a solid head, drawn on its own."""
    colour, style, _ = EDGE_STYLES[edge.kind]
    solid = style == "solid"
    axes.add_patch(FancyArrowPatch(edge.start, edge.end, connectionstyle=f"arc3,rad={edge.bend}",
                                   arrowstyle=_HEAD if solid else "-", mutation_scale=10, color=colour,
                                   linewidth=1.0, linestyle=style, shrinkA=0, shrinkB=0.5, zorder=2))
    if not solid:
        (sx, sy), (ex, ey) = edge.start, edge.end
        cx, cy = (sx + ex) / 2 + edge.bend * (ey - sy), (sy + ey) / 2 - edge.bend * (ex - sx)
        length = math.hypot(ex - cx, ey - cy) or 1.0
        back = (ex - 0.2 * (ex - cx) / length, ey - 0.2 * (ey - cy) / length)
        axes.add_patch(FancyArrowPatch(back, edge.end, arrowstyle=_HEAD, mutation_scale=10, color=colour,
                                       linewidth=1.0, shrinkA=0, shrinkB=0.5, zorder=2))


def _draw_node(axes, node: LayoutNode, height: float) -> None:
    fill, outline = SLOT_COLOURS[node.slot]
    axes.add_patch(FancyBboxPatch((node.x - node.width / 2, node.y - height / 2), node.width, height,
                                  boxstyle="round,pad=0,rounding_size=0.12", facecolor=fill,
                                  edgecolor="#1a1a1a" if node.is_output else outline,
                                  linewidth=2.0 if node.is_output else 1.0, zorder=3))
    title = node.label[: len(node.label) - len(node.detail)].strip() if node.detail else node.label
    if node.detail:
        axes.text(node.x, node.y + 0.11, title, ha="center", va="center", fontsize=FONT["op"],
                  fontweight="bold", zorder=4)
        axes.text(node.x, node.y - 0.16, node.detail, ha="center", va="center", fontsize=FONT["detail"],
                  color="#333333", zorder=4)
    else:
        axes.text(node.x, node.y, title, ha="center", va="center", fontsize=FONT["op"], fontweight="bold",
                  zorder=4)
    if node.is_output:
        axes.text(node.x + node.width / 2 - 0.05, node.y + height / 2 + 0.08, node.output, ha="center", va="center",
                  fontsize=FONT["detail"], fontweight="bold", color="white", zorder=5,
                  bbox=dict(boxstyle="round,pad=0.18", facecolor="#1a1a1a", edgecolor="none"))


def _draw_title(axes, lay: Layout, x: float, y: float, width: float) -> None:
    characters = max(40, int(width * SCALE * 72 / (FONT["paper"] * 0.55)))
    paper = "\n".join(textwrap.wrap(lay.paper, characters)) if lay.paper else ""
    axes.text(x, y + 0.15, paper, ha="center", va="bottom", fontsize=FONT["paper"], color="#444444")
    lines = paper.count("\n") + 1 if paper else 0
    axes.text(x, y + 0.3 + lines * 0.5, lay.name, ha="center", va="bottom", fontsize=FONT["title"],
              fontweight="bold")


def _draw_legend(axes, lay: Layout, width: float) -> None:
    handles: List[Any] = [Patch(facecolor=SLOT_COLOURS[slot][0], edgecolor=SLOT_COLOURS[slot][1],
                                label=SLOT_NAMES[slot]) for slot in lay.slots]
    handles += [Line2D([], [], color=EDGE_STYLES[kind][0], linestyle=EDGE_STYLES[kind][1], linewidth=1.2,
                       label=EDGE_STYLES[kind][2]) for kind in lay.edge_kinds]
    handles.append(Patch(facecolor="white", edgecolor="#1a1a1a", linewidth=2.0, label="output"))
    entry = 0.45 + FONT["legend"] * 0.56 / 72 * max(len(handle.get_label()) for handle in handles)
    columns = max(1, min(len(handles), int(width * SCALE / (entry + 0.2))))
    columns = math.ceil(len(handles) / math.ceil(len(handles) / columns))
    axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=columns, frameon=False,
                fontsize=FONT["legend"], handlelength=1.8, columnspacing=1.4)
