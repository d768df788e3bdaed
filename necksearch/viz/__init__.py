"""Drawings of neck graphs: :func:`layout` (pure data) and :func:`draw` (matplotlib, imported on first use)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from necksearch.viz.graph_layout import EDGE_KINDS, SLOT_ORDER, Layout, LayoutEdge, LayoutNode, LayoutRow, layout


def draw(graph: Any, path: str | Path) -> Path:
    """Render ``graph`` (a NeckGraph, preset name or graph file) to a ``.png`` or ``.svg`` file; see
    :func:`necksearch.viz.draw_graph.draw`."""
    from necksearch.viz.draw_graph import draw as _draw
    return _draw(graph, path)


__all__ = ["EDGE_KINDS", "SLOT_ORDER", "Layout", "LayoutEdge", "LayoutNode", "LayoutRow", "draw", "layout"]
