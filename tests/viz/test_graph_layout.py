"""The data of a graph drawing: rows are levels, columns are depths, no overlaps, edge kinds, labels."""
import itertools

import pytest

from necksearch.errors import NeckSearchError
from necksearch.graph import NeckGraph, Node
from necksearch.graph.presets import list_presets, resolve_graph
from necksearch.viz import EDGE_KINDS, SLOT_ORDER, layout
from necksearch.viz.graph_layout import node_label
from tests.helpers import modules_after


def a2fpn_like():
    """A²-FPN as components.md §2.5 reads it: MGC context, GACARAFE top-down, GACAP bottom-up, F6."""
    nodes = [Node("ctx", "mgc_context", ("c2", "c3", "c4", "c5"))]
    nodes += [Node(f"m{i}", "mgc", (f"c{i}", "ctx")) for i in range(2, 6)]
    nodes.append(Node("f6", "conv_down", ("c5",), level=6))
    top = {6: "f6"}
    for i in (5, 4, 3, 2):
        nodes.append(Node(f"t{i}", "gacarafe", (f"m{i}", top[i + 1])))
        top[i] = f"t{i}"
    nodes += [Node(f"td{i}", "conv3x3", (top[i],)) for i in range(2, 7)]
    up = {2: "td2"}
    for i in range(3, 7):
        nodes.append(Node(f"u{i}", "gacap", (f"td{i}", up[i - 1])))
        up[i] = f"u{i}"
    nodes += [Node(f"bu{i}", "conv3x3", (up[i],)) for i in range(2, 7)]
    return NeckGraph(name="a2fpn_like", paper="A2-FPN (Hu et al., CVPR 2021) test fixture", nodes=nodes,
                     outputs=tuple(f"bu{i}" for i in range(2, 7)))


def fpt_like():
    """FPT's assembly: per level concat[X, ST, GT from every coarser, RT from every finer] → 3×3 conv."""
    nodes = [Node(f"l{i}", "lateral", (f"c{i}",)) for i in range(2, 6)]
    for i in range(2, 6):
        parts = [f"l{i}", f"s{i}"]
        nodes.append(Node(f"s{i}", "st", (f"l{i}",)))
        for h in range(i + 1, 6):
            nodes.append(Node(f"g{i}{h}", "gt", (f"l{i}", f"l{h}")))
            parts.append(f"g{i}{h}")
        for k in range(2, i):
            nodes.append(Node(f"r{i}{k}", "rt", (f"l{i}", f"l{k}")))
            parts.append(f"r{i}{k}")
        nodes += [Node(f"cat{i}", "concat", tuple(parts)), Node(f"p{i}", "conv3x3", (f"cat{i}",))]
    nodes.append(Node("p6", "maxpool_down", ("p5",)))
    return NeckGraph(name="fpt_like", paper="FPT (Zhang et al., ECCV 2020) test fixture", nodes=nodes,
                     outputs=("p2", "p3", "p4", "p5", "p6"))


GRAPHS = {**{name: (lambda name=name: resolve_graph(name)) for name in list_presets()},
          "a2fpn_like": a2fpn_like, "fpt_like": fpt_like}


@pytest.fixture(scope="module")
def fpn():
    return layout(resolve_graph("fpn"))


def test_fpn_levels_are_rows_finest_at_the_top(fpn):
    assert [row.level for row in fpn.rows] == [2, 3, 4, 5, 6]
    assert [(row.label, row.stride, row.backbone) for row in fpn.rows[:2]] == [("P2", 4, "C2"), ("P3", 8, "C3")]
    assert fpn.rows[-1].backbone is None
    ys = [fpn.node(name).y for name in ("l2", "l3", "l4", "l5", "p6")]
    assert ys == sorted(ys, reverse=True) and len(set(ys)) == 5
    rows = {row.level: row for row in fpn.rows}
    for node in fpn.nodes:
        assert rows[node.level].bottom < node.y < rows[node.level].top, node.name


def test_fpn_inputs_form_the_left_column_and_columns_are_depths(fpn):
    inputs = [fpn.node(name) for name in ("c2", "c3", "c4", "c5")]
    assert {(node.column, node.x, node.slot) for node in inputs} == {(0, 0.0, "input")}
    assert [node.label for node in inputs] == ["C2", "C3", "C4", "C5"]
    assert min(node.x for node in fpn.nodes) == 0.0
    depth = {"l2": 1, "l5": 1, "t4": 2, "t3": 3, "t2": 4, "p2": 5, "p3": 4, "p4": 3, "p5": 2, "p6": 3}
    assert {name: fpn.node(name).column for name in depth} == depth
    assert fpn.columns == 6


def test_fpn_outputs_are_marked_with_their_level(fpn):
    marked = {node.name: node.output for node in fpn.nodes if node.is_output}
    assert marked == {"p2": "P2", "p3": "P3", "p4": "P4", "p5": "P5", "p6": "P6"}


def test_fpn_edge_kinds_follow_the_levels_of_a_top_down_sum(fpn):
    kinds = {(edge.source, edge.target): edge.kind for edge in fpn.edges}
    assert kinds[("l4", "t4")] == "same_level"
    assert kinds[("l5", "t4")] == "coarse_to_fine"
    assert kinds[("t4", "t3")] == "coarse_to_fine"
    assert kinds[("c2", "l2")] == "same_level"
    assert kinds[("p5", "p6")] == "fine_to_coarse"
    assert len(fpn.edges) == sum(len(node.inputs) for node in resolve_graph("fpn").nodes)
    assert fpn.edge_kinds == ("same_level", "coarse_to_fine", "fine_to_coarse")
    assert fpn.slots == ("input", "lateral", "up", "extra", "unary")


def test_pafpn_bottom_up_edges_go_fine_to_coarse():
    kinds = {(edge.source, edge.target): edge.kind for edge in layout(resolve_graph("pafpn")).edges}
    assert kinds[("p2", "b3")] == kinds[("b3", "b4")] == "fine_to_coarse"
    assert kinds[("p3", "b3")] == "same_level"


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_every_graph_lays_out_without_overlaps_and_left_to_right(name):
    lay = layout(GRAPHS[name]())
    for a, b in itertools.combinations(lay.nodes, 2):
        apart_x = abs(a.x - b.x) >= (a.width + b.width) / 2
        apart_y = abs(a.y - b.y) >= lay.box_height
        assert apart_x or apart_y, f"{a.name} and {b.name} overlap"
    nodes = {node.name: node for node in lay.nodes}
    for edge in lay.edges:
        source, target = nodes[edge.source], nodes[edge.target]
        assert target.column > source.column and target.x > source.x, (edge.source, edge.target)
        assert edge.start[0] < edge.end[0]
        assert edge.kind in EDGE_KINDS
    assert {node.slot for node in lay.nodes} <= set(SLOT_ORDER)
    left, right, bottom, top = lay.extent
    assert all(left <= node.x - node.width / 2 and node.x + node.width / 2 <= right for node in lay.nodes)
    assert all(bottom < node.y < top for node in lay.nodes)


def test_context_nodes_sit_in_a_band_below_the_pyramid():
    lay = layout(a2fpn_like())
    ctx = lay.node("ctx")
    assert (ctx.level, ctx.slot, ctx.column) == (None, "context", 1)
    band = lay.rows[-1]
    assert (band.level, band.label) == (None, "context")
    assert band.top < min(row.bottom for row in lay.rows[:-1])
    assert band.bottom < ctx.y < band.top
    kinds = {(edge.source, edge.target): edge.kind for edge in lay.edges}
    assert kinds[("c3", "ctx")] == kinds[("ctx", "m3")] == "context"
    assert kinds[("c3", "m3")] == "same_level"
    assert kinds[("f6", "t5")] == "coarse_to_fine" and kinds[("td2", "u3")] == "fine_to_coarse"
    assert lay.node("m2").slot == "distribute" and lay.node("f6").level == 6
    assert lay.slots == ("input", "context", "distribute", "up", "down", "extra", "unary")


def test_nodes_sharing_a_level_and_column_are_stacked_in_lanes_by_where_their_inputs_are():
    lay = layout(fpt_like())
    rows = {row.level: row for row in lay.rows}
    assert [rows[level].lanes for level in (2, 3, 4, 5, 6)] == [4, 4, 4, 4, 1]
    level2 = [lay.node(name) for name in ("s2", "g23", "g24", "g25")]
    assert {node.column for node in level2} == {2}
    ys = [node.y for node in level2]
    assert ys == sorted(ys, reverse=True) and len(set(ys)) == 4      # the input from the finest level on top
    assert lay.node("r32").y > lay.node("s3").y > lay.node("g34").y    # RT from P2 above ST above GT from P4
    assert lay.node("l2").y == rows[2].y == lay.node("cat2").y         # single nodes centred on their row


def _on_arc(edge, t):
    (sx, sy), (ex, ey) = edge.start, edge.end
    cx = (sx + ex) / 2 + edge.bend * (ey - sy)
    cy = (sy + ey) / 2 - edge.bend * (ex - sx)
    return ((1 - t) ** 2 * sx + 2 * t * (1 - t) * cx + t * t * ex,
            (1 - t) ** 2 * sy + 2 * t * (1 - t) * cy + t * t * ey)


def test_an_arrow_that_would_cut_through_a_box_is_bent_around_it():
    graph = NeckGraph(name="skip", inputs=("c2",), outputs=("cat",), nodes=(
        Node("l2", "lateral", ("c2",)), Node("s2", "st", ("l2",)), Node("cat", "concat", ("l2", "s2"))))
    lay = layout(graph)
    skip = next(edge for edge in lay.edges if (edge.source, edge.target) == ("l2", "cat"))
    box = lay.node("s2")
    assert abs(skip.start[1] - box.y) < lay.box_height / 2                # a straight arrow would cross s2
    assert skip.bend != 0
    for step in range(1, 50):
        x, y = _on_arc(skip, step / 50)
        assert abs(x - box.x) > box.width / 2 or abs(y - box.y) > lay.box_height / 2
    assert all(edge.bend == 0 for edge in layout(resolve_graph("fpn")).edges)


def test_labels_show_op_and_short_non_default_arguments():
    assert node_label(Node("a", "mssa", ("x", "y"), args={"pool_ratio": 8})) == ("mssa", "r=8")
    assert node_label(Node("a", "mssa", ("x", "y"), args={"pool_ratio": 4, "heads": 4})) == ("mssa", "")
    assert node_label(Node("a", "gacarafe", ("x", "y"), args={"gate": "sigmoid"})) == ("gacarafe", "gate=sigmoid")
    assert node_label(Node("a", "mgc_context", ("x",), args={"gcn": False})) == ("mgc_context", "no gcn")
    assert node_label(Node("a", "lateral", ("x",), args={"out_channels": 128}), 256) == ("lateral", "c=128")
    assert node_label(Node("a", "lateral", ("x",), args={"out_channels": 128}), 128) == ("lateral", "")
    assert node_label(Node("a", "concat", ("x", "y", "z"))) == ("concat", "")
    lay = layout(resolve_graph("fpn"))
    assert lay.node("t4").label == "sum" and lay.node("p6").label == "maxpool_down"


def test_layout_is_deterministic():
    assert layout(fpt_like()) == layout(fpt_like())
    assert layout(resolve_graph("pafpn")) == layout(resolve_graph("pafpn"))


def test_an_invalid_graph_is_refused_with_a_named_error():
    graph = NeckGraph(name="bad", inputs=("c2",), outputs=("l2",), nodes=(Node("l2", "laterall", ("c2",)),))
    with pytest.raises(NeckSearchError, match="laterall"):
        layout(graph)


def test_the_layout_is_pure_data():
    loaded = modules_after("import necksearch.viz, necksearch.viz.graph_layout")
    assert [m for m in loaded if m.split(".")[0] in ("torch", "torchvision", "matplotlib")
            or m.startswith("necksearch.ops") or m == "necksearch.viz.draw_graph"] == []
