"""Shape inference: levels, widths, kinds and fusion scales before any forward pass; the summary."""
from necksearch.graph import DetectorChoices, NeckGraph, Node, NodeShape


def test_fpn_shapes(fpn):
    shapes = fpn.infer_shapes()
    assert shapes["c4"] == NodeShape(4, 1024)
    assert shapes["l5"] == NodeShape(5, 256)
    assert shapes["t4"] == NodeShape(4, 256, "map", scale=2)
    assert shapes["t2"] == NodeShape(2, 256, "map", scale=2)
    assert [shapes[name].level for name in fpn.outputs] == [2, 3, 4, 5, 6]
    assert shapes["p6"] == NodeShape(6, 256, "map", scale=2)
    assert shapes["p3"].scale is None


def test_pafpn_bottom_up_targets_keep_their_level(pafpn):
    shapes = pafpn.infer_shapes()
    assert [(shapes[n].level, shapes[n].scale) for n in ("b3", "b4", "b5")] == [(3, 2), (4, 2), (5, 2)]
    assert shapes["n6"].level == 6


def test_non_adjacent_fusion_has_scale_four_and_an_explicit_extra_level_sets_its_scale():
    graph = NeckGraph(name="skip", nodes=(
        Node("l3", "lateral", ("c3",)), Node("l5", "lateral", ("c5",)),
        Node("p3", "carafe", ("l3", "l5")), Node("p5", "cap", ("l5", "l3")),
        Node("p7", "conv_down", ("c5",), level=7)), outputs=("p3", "p5", "p7"))
    shapes = graph.infer_shapes()
    assert shapes["p3"] == NodeShape(3, 256, "map", scale=4)
    assert shapes["p5"] == NodeShape(5, 256, "map", scale=4)
    assert shapes["p7"] == NodeShape(7, 256, "map", scale=4)


def test_sum_of_sources_at_different_distances_has_no_single_scale():
    graph = NeckGraph(name="bi", nodes=(
        Node("l3", "lateral", ("c3",)), Node("l4", "lateral", ("c4",)), Node("l5", "lateral", ("c5",)),
        Node("p4", "sum", ("l4", "l3", "l5")), Node("p3", "concat", ("l3", "l4", "l5"))), outputs=("p3", "p4"))
    shapes = graph.infer_shapes()
    assert shapes["p4"] == NodeShape(4, 256, "map", scale=2)
    assert shapes["p3"] == NodeShape(3, 256, "map", scale=None)
    assert graph.nodes[-1].args == {"num_inputs": 3}


def test_context_and_distribute_pair():
    graph = NeckGraph(name="a2fpn-lite", channels=128, nodes=(
        Node("ctx", "mgc_context", ("c2", "c3", "c4", "c5"), {"context_channels": 64}),
        Node("p3", "mgc", ("c3", "ctx")), Node("p4", "mgc", ("c4", "ctx"))), outputs=("p3", "p4"),
        detector=DetectorChoices(mgc_orthogonal_weight=1e-4))
    shapes = graph.infer_shapes({"c2": 64, "c3": 128, "c4": 256, "c5": 512})
    assert shapes["ctx"] == NodeShape(None, 64, "context")
    assert shapes["p3"] == NodeShape(3, 128) and shapes["p4"] == NodeShape(4, 128)
    assert shapes["c5"] == NodeShape(5, 512)


def test_lateral_out_channels_and_same_level_sum_of_rfa():
    graph = NeckGraph(name="augfpn-top", nodes=(
        Node("l5", "lateral", ("c5",)), Node("m6", "rfa", ("c5",)), Node("p5", "sum", ("l5", "m6")),
        Node("w", "lateral", ("p5",), {"out_channels": 64}), Node("q", "lateral", ("w",))), outputs=("q",))
    shapes = graph.infer_shapes()
    assert shapes["p5"] == NodeShape(5, 256, "map", scale=1)
    assert shapes["w"] == NodeShape(5, 64) and shapes["q"] == NodeShape(5, 256)


def test_summary_lists_every_node_in_topological_order(fpn):
    lines = fpn.summary().splitlines()
    assert lines[0] == "fpn: c2 c3 c4 c5 -> p2 p3 p4 p5 p6, 256 channels"
    assert "  t4 = sum(l4, l5) @ P4 ×256" in lines
    assert lines[-1] == "  p6 = maxpool_down(p5) @ P6 ×256"
    assert len(lines) == 1 + len(fpn.nodes)


def test_summary_shows_args_contexts_and_changed_detector_choices():
    graph = NeckGraph(name="m", nodes=(
        Node("ctx", "mgc_context", ("c2", "c3")), Node("p3", "mgc", ("c3", "ctx"), {"similarity": "dot"})),
        outputs=("p3",), detector=DetectorChoices("srs", consistent_supervision=0.25))
    text = graph.summary()
    assert "  ctx = mgc_context(c2, c3) @ context ×256" in text
    assert "  p3 = mgc(c3, ctx; similarity=dot) @ P3 ×256" in text
    assert text.endswith("  detector: roi_extractor=srs, consistent_supervision=0.25")
