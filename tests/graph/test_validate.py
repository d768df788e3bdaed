"""Every validation error names the node (or graph part) and the field at fault."""
import dataclasses

import pytest

from necksearch.graph import DetectorChoices, GraphError, NeckGraph, Node
from tests.graph.graphs import fpn_graph


def replace_node(graph, target, **changes):
    """``graph`` with node ``target`` changed."""
    nodes = [dataclasses.replace(n, **changes) if n.name == target else n for n in graph.nodes]
    return dataclasses.replace(graph, nodes=nodes)


def add_nodes(graph, *nodes, outputs=None):
    """``graph`` with extra nodes (and optionally new outputs)."""
    return dataclasses.replace(graph, nodes=(*graph.nodes, *nodes), outputs=outputs or graph.outputs)


def context_graph(*extra, outputs=("m3", "p5")):
    """A²-FPN-style: a context from every backbone level, distributed to C3 and C5."""
    return NeckGraph(name="mgc", nodes=(
        Node("ctx", "mgc_context", ("c2", "c3", "c4", "c5")),
        Node("m3", "mgc", ("c3", "ctx")), Node("p5", "mgc", ("c5", "ctx")), *extra), outputs=outputs)


def test_fixtures_are_valid(fpn, pafpn):
    fpn.validate()
    pafpn.validate()
    context_graph().validate()


CASES = {
    "unknown op": (lambda: replace_node(fpn_graph(), "p4", op="gacarafee"),
                   r"node 'p4' field 'op': unknown operation 'gacarafee' \(did you mean 'gacarafe'\?\)"),
    "roi op": (lambda: replace_node(fpn_graph(), "p4", op="srs"),
               r"node 'p4' field 'op': 'srs' is a RoI-side operation, not a neck node"),
    "duplicate name": (lambda: replace_node(fpn_graph(), "p3", name="p2"),
                       r"node 'p2' field 'name': duplicate node name \(nodes\[7\] and nodes\[8\]\)"),
    "name clash": (lambda: replace_node(fpn_graph(), "p3", name="c3"),
                   r"node 'c3' field 'name': clashes with the backbone input 'c3'"),
    "unknown input": (lambda: replace_node(fpn_graph(), "t3", inputs=("l3", "l9")),
                      r"node 't3' field 'inputs': unknown input 'l9'"),
    "cycle": (lambda: replace_node(replace_node(fpn_graph(), "t4", inputs=("l4", "t3")), "l3", inputs=("t4",)),
              r"node '(t4|t3|l3)' field 'inputs': cycle (\w+ -> ){3}\w+"),
    "self loop": (lambda: replace_node(fpn_graph(), "p5", inputs=("p5",)),
                  r"node 'p5' field 'inputs': cycle p5 -> p5"),
    "arity of a binary fusion": (lambda: replace_node(fpn_graph(), "t3", op="carafe", inputs=("l3", "t4", "l5")),
                                 r"node 't3' field 'inputs': op 'carafe' \(slot up\) takes exactly 2 "
                                 r"input\(s\), got 3"),
    "arity of sum": (lambda: replace_node(fpn_graph(), "t3", inputs=("l3",)),
                     r"node 't3' field 'inputs': op 'sum' \(slot up\) takes at least 2 input\(s\), got 1"),
    "arity of a lateral": (lambda: replace_node(fpn_graph(), "l3", inputs=("c3", "c4")),
                           r"node 'l3' field 'inputs': op 'lateral' \(slot lateral\) takes exactly 1"),
    "unknown arg": (lambda: replace_node(fpn_graph(), "t3", op="gacarafe", args={"gat": "sigmoid"}),
                    r"node 't3' field 'args': op 'gacarafe' has no argument 'gat' \(did you mean 'gate'\?\)"),
    "structural arg": (lambda: replace_node(fpn_graph(), "t3", op="carafe", args={"scale": 2}),
                       r"node 't3' field 'args': op 'carafe' has no argument 'scale'"),
    "concat num_inputs": (lambda: replace_node(fpn_graph(), "t3", op="concat", args={"num_inputs": 3}),
                          r"node 't3' field 'args': num_inputs is 3 but the node has 2 inputs"),
    "up from a finer source": (lambda: replace_node(fpn_graph(), "t3", op="carafe", inputs=("t4", "l3")),
                               r"node 't3' field 'inputs': the source 'l3' \(level 3\) of up-fusion 'carafe' "
                               r"must be coarser \(a higher level\) than the target 't4' \(level 4\)"),
    "up at the same level": (lambda: replace_node(fpn_graph(), "t3", op="mssa", inputs=("l3", "c3")),
                             r"node 't3' field 'inputs': the source 'c3' \(level 3\) of up-fusion 'mssa' must "
                             r"be coarser"),
    "down from a coarser source": (
        lambda: replace_node(fpn_graph(), "t3", op="strided_conv_sum"),
        r"node 't3' field 'inputs': the source 't4' \(level 4\) of down-fusion 'strided_conv_sum' must be finer"),
    "context read by a fusion": (lambda: context_graph(Node("s", "sum", ("m3", "ctx")), outputs=("s", "p5")),
                                 r"node 's' field 'inputs': 'ctx' is a context; only a distribute node reads one"),
    "context read first by a distribute node": (
        lambda: context_graph(Node("d", "mgc", ("ctx", "ctx")), outputs=("m3", "d")),
        r"node 'd' field 'inputs': 'ctx' is a context"),
    "distribute without a context": (lambda: context_graph(Node("d", "mgc", ("c4", "c5")), outputs=("m3", "d")),
                                     r"node 'd' field 'inputs': the second input of a distribute node must be a "
                                     r"context, got the map 'c5'"),
    "inconsistent level": (lambda: replace_node(fpn_graph(), "p4", level=3),
                           r"node 'p4' field 'level': given as 3 but the inputs make it level 4"),
    "level on a context": (lambda: replace_node(context_graph(), "ctx", level=2),
                           r"node 'ctx' field 'level': given as 2 but the inputs make it a context"),
    "extra level not coarser": (lambda: replace_node(fpn_graph(), "p6", level=5),
                                r"node 'p6' field 'level': an extra level must be coarser than its input 'p5'"),
    "maxpool_down changing the width": (lambda: replace_node(fpn_graph(), "p6", inputs=("c5",)),
                                        r"node 'p6' field 'inputs': op 'maxpool_down' keeps the width, but its "
                                        r"input 'c5' has 2048 channels, not 256"),
    "fusion of unequal widths": (lambda: replace_node(fpn_graph(), "t4", inputs=("l4", "c5")),
                                 r"node 't4' field 'inputs': fusion inputs need equal widths: 'l4' has 256 "
                                 r"channels, 'c5' has 2048"),
    "bad out_channels": (lambda: replace_node(fpn_graph(), "l5", args={"out_channels": "wide"}),
                         r"node 'l5' field 'args': out_channels must be a positive integer, got 'wide'"),
    "unknown output": (lambda: dataclasses.replace(fpn_graph(), outputs=("p2", "p9")),
                       r"graph field 'outputs': unknown output 'p9'"),
    "backbone output": (lambda: dataclasses.replace(fpn_graph(), outputs=("p2", "c5")),
                        r"graph field 'outputs': 'c5' is a backbone input"),
    "outputs out of order": (lambda: dataclasses.replace(fpn_graph(), outputs=("p2", "p4", "p3", "p5", "p6")),
                             r"graph field 'outputs': levels must strictly increase .*'p3' is at level 3 after "
                             r"level 4"),
    "outputs at one level": (lambda: dataclasses.replace(fpn_graph(), outputs=("p2", "t2")),
                             r"graph field 'outputs': levels must strictly increase"),
    "context output": (lambda: context_graph(outputs=("m3", "ctx")),
                       r"graph field 'outputs': 'ctx' is a context, not a feature map"),
    "fusion of a narrower lateral": (lambda: replace_node(fpn_graph(), "l5", args={"out_channels": 128}),
                                     r"node 't4' field 'inputs': fusion inputs need equal widths: 'l4' has 256 "
                                     r"channels, 'l5' has 128"),
    "narrow output": (lambda: replace_node(replace_node(fpn_graph(), "p6", args={"out_channels": 128}), "p6",
                                           op="conv_down"),
                      r"graph field 'outputs': 'p6' has 128 channels, the graph width is 256"),
    "no outputs": (lambda: dataclasses.replace(fpn_graph(), nodes=(), outputs=()),
                   r"graph field 'outputs': a neck needs at least one output"),
    "dead node": (lambda: add_nodes(fpn_graph(), Node("x", "conv3x3", ("p3",))),
                  r"node 'x' field 'name': dead node: its result reaches no output"),
    "bad backbone name": (lambda: dataclasses.replace(fpn_graph(), inputs=("c2", "res3")),
                          r"graph field 'inputs': 'res3' is not a backbone level name c<k>"),
    "backbone level beyond the coarsest": (lambda: dataclasses.replace(fpn_graph(), inputs=("c2", "c3", "c4", "c5",
                                                                                           "c32")),
                                           r"graph field 'inputs': 'c32' is not a backbone level name c<k> "
                                           r"\(stride 2\^k, k <= 31\)"),
    "inferred level beyond the coarsest": (lambda: add_nodes(replace_node(fpn_graph(), "p6", level=31),
                                                             Node("p7", "maxpool_down", ("p6",)),
                                                             outputs=("p2", "p3", "p4", "p5", "p6", "p7")),
                                           r"node 'p7' field 'level': level 32 is beyond the coarsest level 31"),
    "backbone levels out of order": (lambda: dataclasses.replace(fpn_graph(), inputs=("c3", "c2", "c4", "c5")),
                                     r"graph field 'inputs': backbone levels must be distinct and increasing"),
    "unknown roi extractor": (lambda: dataclasses.replace(fpn_graph(), detector=DetectorChoices("roialign")),
                              r"detector field 'roi_extractor': expected one of fpn, srs, got 'roialign'"),
    "bad output dropblock": (lambda: dataclasses.replace(fpn_graph(), detector=DetectorChoices(
                                 output_dropblock={"keep_prob": 0.9})),
                             r"detector field 'output_dropblock': dropblock has no argument 'keep_prob'"),
    "orthogonal loss without mgc": (lambda: dataclasses.replace(fpn_graph(), detector=DetectorChoices(
                                        mgc_orthogonal_weight=1e-4)),
                                    r"detector field 'mgc_orthogonal_weight': 0.0001 but no node has an "
                                    r"orthogonal loss \(mgc_context\)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_validation_error_names_node_and_field(case):
    make, message = CASES[case]
    with pytest.raises(GraphError, match=message):
        make().validate()


def test_missing_backbone_width_names_the_input():
    graph = NeckGraph(name="c6", inputs=("c5", "c6"), nodes=(Node("p6", "lateral", ("c6",)),), outputs=("p6",))
    with pytest.raises(GraphError, match=r"in_channels: backbone input 'c6' needs a positive width, got None"):
        graph.validate()
    graph.validate({"c5": 2048, "c6": 4096})


def test_channel_checks_follow_the_given_backbone_widths():
    graph = replace_node(fpn_graph(), "t4", inputs=("l4", "c5"))
    graph.validate({"c2": 256, "c3": 256, "c4": 256, "c5": 256})


def test_topological_order_follows_inputs_and_otherwise_the_written_order(fpn):
    assert fpn.topological_order() == fpn.nodes
    shuffled = dataclasses.replace(fpn, nodes=tuple(reversed(fpn.nodes)))
    order = [node.name for node in shuffled.topological_order()]
    for node in fpn.nodes:
        assert all(order.index(name) < order.index(node.name) for name in node.inputs if name in order)
    assert order[:5] == ["l5", "p5", "p6", "l4", "t4"]
