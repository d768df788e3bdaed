"""canonical_hash: invariant under node order and names, sensitive to ops, args, edges, levels and choices."""
import dataclasses

import pytest

from necksearch.graph import DetectorChoices, GraphError, Node
from necksearch.graph.presets import load_preset
from tests.graph.test_validate import add_nodes, replace_node


def renamed(graph, prefix):
    """``graph`` with every node renamed to ``prefix + name``."""
    name = {n.name: prefix + n.name for n in graph.nodes}
    nodes = [dataclasses.replace(n, name=name[n.name], inputs=tuple(name.get(i, i) for i in n.inputs))
             for n in graph.nodes]
    return dataclasses.replace(graph, nodes=nodes, outputs=tuple(name[o] for o in graph.outputs))


def test_hash_is_a_sha256_hex(fpn):
    digest = fpn.canonical_hash()
    assert len(digest) == 64 and int(digest, 16) >= 0


def test_hash_ignores_node_order_names_and_metadata(pafpn):
    reordered = dataclasses.replace(pafpn, nodes=tuple(reversed(pafpn.nodes)))
    relabelled = dataclasses.replace(renamed(pafpn, "x_"), name="other", paper="elsewhere")
    assert reordered.canonical_hash() == pafpn.canonical_hash()
    assert relabelled.canonical_hash() == pafpn.canonical_hash()


def test_hash_treats_tuples_as_lists_and_a_default_extra_level_as_explicit(fpn):
    rfa = replace_node(fpn, "l5", op="rfa", args={"ratios": [0.1, 0.2]})
    assert rfa.canonical_hash() == replace_node(fpn, "l5", op="rfa", args={"ratios": (0.1, 0.2)}).canonical_hash()
    assert replace_node(fpn, "p6", level=6).canonical_hash() == fpn.canonical_hash()
    assert replace_node(fpn, "p4", level=4).canonical_hash() == fpn.canonical_hash()


def test_hash_treats_a_spelled_out_default_as_omitted(fpn):
    assert replace_node(fpn, "t3", args={"mode": "nearest"}).canonical_hash() == fpn.canonical_hash()
    assert replace_node(fpn, "p3", args={"relu": False}).canonical_hash() == fpn.canonical_hash()
    assert replace_node(fpn, "p3", args={"relu": True}).canonical_hash() != fpn.canonical_hash()


CHANGES = {
    "op": lambda g: replace_node(g, "t3", op="carafe"),
    "arg": lambda g: replace_node(g, "t3", args={"mode": "bilinear"}),
    "edge": lambda g: replace_node(g, "t3", inputs=("l3", "l4")),
    "input order": lambda g: replace_node(g, "t3", inputs=("t4", "l3")),
    "extra level": lambda g: replace_node(g, "p6", level=7),
    "outputs": lambda g: dataclasses.replace(g, outputs=g.outputs[:-1]),
    "channels": lambda g: dataclasses.replace(g, channels=128),
    "backbone inputs": lambda g: dataclasses.replace(g, inputs=("c2", "c3", "c4", "c5", "c6")),
    "detector": lambda g: dataclasses.replace(g, detector=DetectorChoices(consistent_supervision=0.25)),
    "dropblock": lambda g: dataclasses.replace(g, detector=DetectorChoices(output_dropblock={"drop_prob": 0.1})),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_hash_changes_with_the_architecture(change, fpn):
    assert CHANGES[change](fpn).canonical_hash() != fpn.canonical_hash()


def test_hash_of_a_cyclic_or_dangling_graph_is_a_graph_error(fpn):
    with pytest.raises(GraphError, match="cycle"):
        replace_node(fpn, "p5", inputs=("p5",)).canonical_hash()
    with pytest.raises(GraphError, match="unknown output 'p9'"):
        dataclasses.replace(fpn, outputs=("p9",)).canonical_hash()
    with pytest.raises(GraphError, match="unknown input 'zz'"):
        add_nodes(fpn, Node("x", "conv3x3", ("zz",))).canonical_hash()


def test_a_revised_op_changes_the_hash_of_the_graphs_that_use_it_only(monkeypatch):
    """``OpRecord.revision``: RT's computation changed (revision 2); a graph with RT hashes with it, and a graph
    without a revised op keeps the hash it always had."""
    from necksearch.catalogue.tables import OP_REVISIONS
    from necksearch.graph import hashing
    assert OP_REVISIONS["rt"] == 2 and OP_REVISIONS["sum"] == 1
    fpt, fpn = load_preset("fpt"), load_preset("fpn")
    before = {"fpt": fpt.canonical_hash(), "fpn": fpn.canonical_hash()}
    monkeypatch.setitem(hashing.OP_REVISIONS, "rt", 3)
    assert fpt.canonical_hash() != before["fpt"] and fpn.canonical_hash() == before["fpn"]
    monkeypatch.setitem(hashing.OP_REVISIONS, "rt", 1)
    unrevised = fpt.canonical_hash()
    monkeypatch.setitem(hashing.OP_REVISIONS, "sum", 1)  # the first revision is not spelled
    assert unrevised != before["fpt"] and fpt.canonical_hash() == unrevised
