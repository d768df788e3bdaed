"""``NeckGraph.with_channels``: width-tied arguments (MGC's context width and entity counts) keep their ratio
to the pyramid width (A²-FPN-Lite: context c/2, n_i = 32(6-i) at c = 256), and entity counts are capped at the
backbone widths so that Eq. 2's orthogonality (n_i ≤ c_i) can hold."""
from necksearch.graph.presets import load_preset

PROXY_WIDTHS = {"c2": 24, "c3": 40, "c4": 112, "c5": 320}


def _context(graph):
    return next(node for node in graph.nodes if node.op == "mgc_context")


def test_lite_context_and_entities_scale_with_the_pyramid():
    graph = load_preset("a2fpn_lite").with_channels(64)
    args = _context(graph).args
    assert graph.channels == 64
    assert args["context_channels"] == 32 and list(args["entities"]) == [32, 24, 16, 8]
    assert graph.infer_shapes()["ctx"].channels == 32


def test_default_entities_scale_and_an_implicit_context_width_follows_the_graph():
    graph = load_preset("a2fpn").with_channels(128)
    args = _context(graph).args
    assert list(args["entities"]) == [128, 96, 64, 32] and "context_channels" not in args
    assert graph.infer_shapes()["ctx"].channels == 128


def test_entities_are_capped_at_the_backbone_widths():
    graph = load_preset("a2fpn").with_channels(64, PROXY_WIDTHS)
    assert list(_context(graph).args["entities"]) == [24, 40, 32, 16]  # 64(6-i)/4 = 64, 48, 32, 16, capped


def test_same_width_is_the_same_architecture():
    for name in ("fpn", "pafpn", "a2fpn", "a2fpn_lite", "fpt"):
        graph = load_preset(name)
        assert graph.with_channels(graph.channels).canonical_hash() == graph.canonical_hash(), name


def test_scaling_back_restores_the_graph():
    graph = load_preset("a2fpn_lite")
    assert graph.with_channels(64).with_channels(256).canonical_hash() == graph.canonical_hash()
