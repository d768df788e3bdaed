"""The shipped presets (necksearch/presets/*.yaml): every one loads, validates, round-trips and is distinct.

Torch-free: only the graph layer is imported.
"""
import math
from collections import Counter

import pytest

from necksearch.graph import NeckGraph
from necksearch.graph.presets import PRESET_DIR, list_presets, load_preset

#: Every published architecture / ablation row the presets must cover (components.md §1-§5).
EXPECTED = [
    "fpn", "pafpn", "fpn_concat", "fpn_carafe",
    "a2fpn", "a2fpn_lite",
    "a2fpn_mgc", "a2fpn_gacarafe", "a2fpn_gacap", "a2fpn_mgc_gacarafe", "a2fpn_mgc_gacap", "a2fpn_gacarafe_gacap",
    "a2fpn_wo_gcn", "a2fpn_mgc_wo_gcn", "a2fpn_carafe", "a2fpn_cap",
    "a2fpn_mgc_ni_increasing", "a2fpn_mgc_ni_uniform", "a2fpn_gacarafe_sigmoid", "a2fpn_gacap_sigmoid",
    "a2fpn_mgc_dot", "a2fpn_mgc_scaled_dot",
    "fpt", "fpt_st", "fpt_gt", "fpt_rt", "fpt_st_gt", "fpt_st_rt", "fpt_gt_rt", "fpt_bfp",
    "augfpn", "augfpn_cs", "augfpn_rfa", "augfpn_srs", "augfpn_cs_rfa", "augfpn_cs_srs", "augfpn_rfa_srs",
    "mssa_fpn", "msca_fpn", "mssa_fpn_top1", "mssa_fpn_top2", "mssa_fpn_top3",
    "mssa_fpn_single_pool", "mssa_fpn_adaptive_pool",
]
PRESETS = list_presets()


def ops(graph):
    return Counter(node.op for node in graph.nodes)


def node(graph, name):
    return next(n for n in graph.nodes if n.name == name)


def test_every_expected_preset_is_shipped():
    missing = sorted(set(EXPECTED) - set(PRESETS))
    assert not missing, f"presets missing: {missing}"


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_validates_and_round_trips(name):
    graph = load_preset(name)
    graph.validate()
    assert graph.name == name
    assert graph.paper.strip(), "the paper field must cite the source"
    assert graph.channels == 256
    text = graph.to_yaml()
    again = NeckGraph.from_yaml(text)
    assert again == graph
    assert again.canonical_hash() == graph.canonical_hash()
    assert again.to_yaml() == text
    assert NeckGraph.from_json(graph.to_json()) == graph


@pytest.mark.parametrize("name", PRESETS)
def test_preset_file_starts_with_a_citing_comment(name):
    first = (PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ") and len(first) > 10


@pytest.mark.parametrize("name", PRESETS)
def test_every_map_is_256_wide_and_outputs_climb_one_level_at_a_time(name):
    graph = load_preset(name)
    shapes = graph.infer_shapes()
    for node_name, shape in shapes.items():
        if shape.kind == "map" and node_name not in graph.inputs:
            assert shape.channels == 256, node_name
    assert [shapes[o].level for o in graph.outputs] == [2, 3, 4, 5, 6]


def test_no_two_presets_are_the_same_architecture():
    by_hash = {}
    for name in PRESETS:
        by_hash.setdefault(load_preset(name).canonical_hash(), []).append(name)
    duplicates = [names for names in by_hash.values() if len(names) > 1]
    assert not duplicates


@pytest.mark.parametrize("name", PRESETS)
def test_orthogonal_weight_is_set_exactly_when_mgc_is_present(name):
    graph = load_preset(name)
    has_mgc = "mgc_context" in ops(graph)
    assert math.isclose(graph.detector.mgc_orthogonal_weight, 1e-4 if has_mgc else 0.0)


def test_a2fpn_is_the_budget_matched_layout():
    """components.md §2.5: F6 straight from C5, 4 GACARAFE, 4 GACAP, ten 3×3 convs, no level-6 distributor."""
    graph = load_preset("a2fpn")
    assert ops(graph) == Counter(mgc_context=1, mgc=4, conv_down=1, gacarafe=4, gacap=4, conv3x3=10)
    assert node(graph, "f6").inputs == ("c5",)
    assert node(graph, "t5").inputs == ("m5", "f6")
    assert node(graph, "o2").inputs == ("d2",)
    text = (PRESET_DIR / "a2fpn.yaml").read_text(encoding="utf-8")
    assert "multiple of 64" in text


def test_a2fpn_lite_layout():
    graph = load_preset("a2fpn_lite")
    assert ops(graph) == Counter(mgc_context=1, mgc=4, gacarafe=3, gacap=3, conv3x3=7, maxpool_down=1)
    assert dict(node(graph, "ctx").args) == {"context_channels": 128, "entities": (128, 96, 64, 32)}
    assert graph.outputs[0] == "d2" and node(graph, "d2").op == "conv3x3"


@pytest.mark.parametrize("name, td, bu, mgc", [
    ("a2fpn_mgc", "sum", "strided_conv_sum", True), ("a2fpn_gacarafe", "gacarafe", "strided_conv_sum", False),
    ("a2fpn_gacap", "sum", "gacap", False), ("a2fpn_mgc_gacarafe", "gacarafe", "strided_conv_sum", True),
    ("a2fpn_mgc_gacap", "sum", "gacap", True), ("a2fpn_gacarafe_gacap", "gacarafe", "gacap", False),
    ("a2fpn_carafe", "carafe", "strided_conv_sum", False), ("a2fpn_cap", "sum", "cap", False),
])
def test_a2fpn_ablations_are_pafpn_with_modules_substituted(name, td, bu, mgc):
    graph = load_preset(name)
    counts = ops(graph)
    assert counts[td] == 3 and counts[bu] == 3 and counts["conv3x3"] == 7 and counts["maxpool_down"] == 1
    assert (counts["mgc"], counts["lateral"]) == ((4, 0) if mgc else (0, 4))


def test_fpt_concatenates_five_maps_at_every_level():
    graph = load_preset("fpt")
    assert ops(graph) == Counter(lateral=4, st=4, gt=6, rt=6, concat=4, maxpool_down=1)
    for level in (2, 3, 4, 5):
        fusion = node(graph, f"p{level}")
        assert fusion.inputs[0] == f"l{level}" and len(fusion.inputs) == 5
        assert dict(fusion.args) == {"kernel_size": 3, "num_inputs": 5}
    assert dict(graph.detector.output_dropblock) == {"drop_prob": 0.1, "block_size": 5}


@pytest.mark.parametrize("name, counts", [
    ("fpt_st", dict(st=4, concat=4)), ("fpt_gt", dict(gt=6, concat=3, conv3x3=1)),
    ("fpt_rt", dict(rt=6, concat=3, conv3x3=1)), ("fpt_st_gt", dict(st=4, gt=6, concat=4)),
    ("fpt_st_rt", dict(st=4, rt=6, concat=4)), ("fpt_gt_rt", dict(gt=6, rt=6, concat=4)),
    ("fpt_bfp", dict(conv3x3=4)),
])
def test_fpt_table1_subsets(name, counts):
    assert ops(load_preset(name)) == Counter(lateral=4, maxpool_down=1, **counts)


@pytest.mark.parametrize("name", [n for n in EXPECTED if n.startswith("augfpn")])
def test_augfpn_rows(name):
    graph = load_preset(name)
    parts = set(name.split("_")[1:]) or {"cs", "rfa", "srs"}
    assert (graph.detector.roi_extractor == "srs") == ("srs" in parts)
    assert graph.detector.consistent_supervision == (0.25 if "cs" in parts else 0.0)
    if "rfa" in parts:
        assert node(graph, "r5").op == "rfa" and node(graph, "r5").inputs == ("c5",)
        assert node(graph, "m5").inputs == ("l5", "r5") and node(graph, "t4").inputs == ("l4", "m5")
    else:
        assert "rfa" not in ops(graph)


@pytest.mark.parametrize("name, fused", [("mssa_fpn", (5, 4, 3, 2)), ("msca_fpn", (5, 4, 3, 2)),
                                         ("mssa_fpn_top1", (5,)), ("mssa_fpn_top2", (5, 4)),
                                         ("mssa_fpn_top3", (5, 4, 3)), ("mssa_fpn_single_pool", (5, 4, 3, 2))])
def test_ms_attention_pool_ratio_is_64_over_the_stride(name, fused):
    graph = load_preset(name)
    op = "msca" if name.startswith("msca") else "mssa"
    assert node(graph, "e6").op == "conv_down" and node(graph, "e6").inputs == ("c5",)
    for level in (5, 4, 3, 2):
        step = node(graph, f"t{level}")
        if level in fused:
            assert step.op == op and step.args["pool_ratio"] == 2 ** (6 - level)
        else:
            assert step.op == "sum"
    assert graph.outputs[-1] == "e6"
