"""Consistent supervision's laterals come from the graph's structure, and GraphNeck can return them."""
import pytest
import torch

from necksearch.graph import GraphError, NeckGraph
from necksearch.graph.presets import load_preset
from necksearch.mmdet.laterals import find_laterals
from necksearch.nn import GraphNeck


@pytest.mark.parametrize("preset, expected", [
    ("fpn", ["l2", "l3", "l4", "l5"]),
    ("augfpn", ["l2", "l3", "l4", "l5"]),          # l5, not rfa's r5 (it is added into l5)
    ("a2fpn_lite", ["m2", "m3", "m4", "m5"]),      # the MGC distributors (W_xi is the lateral)
    ("a2fpn", ["m2", "m3", "m4", "m5"]),           # f6 = conv_down(c5) is an extra level, not a lateral
    ("fpt_st", ["l2", "l3", "l4", "l5"]),
])
def test_laterals_are_found_per_level(preset, expected):
    assert find_laterals(preset) == dict(zip(range(2, 6), expected))


def renamed(graph, mapping):
    data = graph.to_dict()
    data["nodes"] = [{**n, "name": mapping.get(n["name"], n["name"]),
                      "inputs": [mapping.get(i, i) for i in n["inputs"]]} for n in data["nodes"]]
    data["outputs"] = [mapping.get(o, o) for o in data["outputs"]]
    return NeckGraph.from_dict(data)


def test_laterals_follow_structure_not_names():
    graph = renamed(load_preset("augfpn"), {"l5": "rfa_top", "r5": "l5", "l2": "x"})
    assert find_laterals(graph) == {2: "x", 3: "l3", 4: "l4", 5: "rfa_top"}


def test_two_indistinguishable_laterals_are_an_error():
    data = load_preset("fpn").to_dict()
    data["nodes"] += [{"name": "extra_l3", "op": "lateral", "inputs": ["c3"]},
                      {"name": "e3", "op": "conv3x3", "inputs": ["extra_l3"]}]
    data["nodes"] = [n if n["name"] != "t3" else {**n, "op": "sum", "inputs": ["l3", "t4", "e3"]}
                     for n in data["nodes"]]
    with pytest.raises(GraphError, match="several nodes"):
        find_laterals(NeckGraph.from_dict(data))


def test_graph_neck_returns_named_intermediate_maps_before_rfa_is_added():
    neck = GraphNeck("augfpn", in_channels=[8, 16, 32, 64], out_channels=8).eval()
    feats = [torch.randn(1, c, 32 // 2 ** i, 32 // 2 ** i) for i, c in enumerate([8, 16, 32, 64])]
    with torch.no_grad():
        plain = neck(feats)
        outs, taps = neck(feats, return_nodes=("l2", "l3", "l4", "l5"))
        lateral5 = neck.nodes["l5"](feats[3])
        rfa5 = neck.nodes["r5"](feats[3])
    assert list(taps) == ["l2", "l3", "l4", "l5"]
    for a, b in zip(plain, outs):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(taps["l5"], lateral5)
    assert not torch.allclose(taps["l5"], lateral5 + rfa5)
    with pytest.raises(ValueError, match="no node"):
        neck(feats, return_nodes=("nope",))
