"""Dict, YAML and JSON forms: exact round trips, the documented layout, malformed input as GraphError."""
import dataclasses
import json
import re

import pytest

from necksearch.graph import DetectorChoices, GraphError, NeckGraph, Node, load_graph

FPN_YAML = """\
name: fpn
paper: "FPN (Lin et al., CVPR 2017); mmdet FPN"
channels: 256
inputs: [c2, c3, c4, c5]
nodes:
  - {name: l2, op: lateral, inputs: [c2]}
  - {name: l3, op: lateral, inputs: [c3]}
  - {name: l4, op: lateral, inputs: [c4]}
  - {name: l5, op: lateral, inputs: [c5]}
  - {name: t4, op: sum, inputs: [l4, l5]}
  - {name: t3, op: sum, inputs: [l3, t4]}
  - {name: t2, op: sum, inputs: [l2, t3]}
  - {name: p2, op: conv3x3, inputs: [t2]}
  - {name: p3, op: conv3x3, inputs: [t3]}
  - {name: p4, op: conv3x3, inputs: [t4]}
  - {name: p5, op: conv3x3, inputs: [l5]}
  - {name: p6, op: maxpool_down, inputs: [p5]}
outputs: [p2, p3, p4, p5, p6]
detector: {roi_extractor: fpn, consistent_supervision: 0.0, mgc_orthogonal_weight: 0.0, output_dropblock: null}
"""


def with_args():
    """A graph that uses every optional field: args (nested), explicit levels, detector choices."""
    nodes = [Node("l5", "rfa", ("c5",), {"ratios": [0.1, 0.2], "fusion": "asf"}),
             Node("l4", "lateral", ("c4",)), Node("g", "gacarafe", ("l4", "l5"), {"gate": "sigmoid"}, level=4),
             Node("f", "concat", ("g", "l5"), {"kernel_size": 3}), Node("p6", "conv_down", ("l5",), level=7)]
    return NeckGraph(name="args", nodes=nodes, outputs=("f", "p6"), paper="é ünïcode",
                     detector=DetectorChoices("srs", 0.25, 0.0, {"drop_prob": 0.1, "block_size": 5}))


@pytest.mark.parametrize("make", ["fpn", "pafpn", "with_args"])
def test_yaml_json_and_dict_round_trips_are_exact(make, request):
    graph = with_args() if make == "with_args" else request.getfixturevalue(make)
    assert NeckGraph.from_yaml(graph.to_yaml()) == graph
    assert NeckGraph.from_json(graph.to_json()) == graph
    assert NeckGraph.from_dict(graph.to_dict()) == graph
    assert NeckGraph.from_yaml(graph.to_yaml()).to_yaml() == graph.to_yaml()


def test_the_documented_yaml_reads_as_the_fpn_fixture_and_is_written_back_verbatim(fpn):
    assert NeckGraph.from_yaml(FPN_YAML) == fpn
    assert fpn.to_yaml() == FPN_YAML.replace('"FPN (Lin et al., CVPR 2017); mmdet FPN"',
                                             "FPN (Lin et al., CVPR 2017); mmdet FPN")


def test_the_format_in_the_serial_docstring_parses():
    from necksearch.graph import serial

    example = serial.__doc__.split("::\n", 1)[1].split("\n\n", 1)[0]
    graph = NeckGraph.from_yaml(example.replace("\n    ", "\n").strip(), source="serial.__doc__")
    assert graph.nodes[2].args == {"gate": "sigmoid"} and graph.nodes[3].level == 6
    assert graph.outputs == ("p2", "p3", "p4", "p5", "p6") and graph.detector == DetectorChoices()


def test_graphs_are_hashable_values(fpn):
    assert {fpn: 1}[NeckGraph.from_yaml(fpn.to_yaml())] == 1


def test_defaults_fill_optional_keys():
    graph = NeckGraph.from_yaml("name: n\nnodes: [{name: p5, op: lateral, inputs: [c5]}]\noutputs: [p5]\n")
    assert (graph.channels, graph.inputs, graph.paper, graph.detector) == (256, ("c2", "c3", "c4", "c5"), "",
                                                                           DetectorChoices())
    assert graph.nodes[0].args == {} and graph.nodes[0].level is None


def test_exponent_floats_read_as_numbers_and_numeric_looking_strings_stay_strings():
    graph = NeckGraph.from_yaml("name: '1e5'\nnodes: []\noutputs: []\ndetector: {mgc_orthogonal_weight: 1e-4}\n")
    assert graph.detector.mgc_orthogonal_weight == 1e-4
    assert graph.name == "1e5" and NeckGraph.from_yaml(graph.to_yaml()).name == "1e5"


def test_concat_gets_num_inputs_from_its_inputs():
    node = Node("f", "concat", ["a", "b", "c"])
    assert node.args == {"num_inputs": 3} and node == Node("f", "concat", ("a", "b", "c"), {"num_inputs": 3})


def test_args_are_frozen_sorted_and_hashable():
    node = Node("r", "rfa", ["c5"], {"ratios": [0.1, 0.2], "fusion": "asf"})
    assert list(node.args) == ["fusion", "ratios"] and node.args["ratios"] == (0.1, 0.2)
    assert hash(node) == hash(Node("r", "rfa", ("c5",), {"fusion": "asf", "ratios": (0.1, 0.2)}))
    with pytest.raises(TypeError):
        node.args["fusion"] = "x"


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_load_graph_reads_every_suffix(tmp_path, pafpn, suffix):
    path = tmp_path / f"pafpn{suffix}"
    path.write_text(pafpn.to_json() if suffix == ".json" else pafpn.to_yaml())
    assert load_graph(path) == pafpn


def test_load_graph_names_the_file_on_a_bad_suffix_a_missing_file_and_a_bad_key(tmp_path):
    with pytest.raises(GraphError, match=r"neck\.txt: unknown graph file type '\.txt'"):
        load_graph(tmp_path / "neck.txt")
    with pytest.raises(GraphError, match=r"missing\.yaml: cannot read"):
        load_graph(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(FPN_YAML.replace("inputs: [c4]}", "inputs: c4}"))
    with pytest.raises(GraphError, match=r"bad\.yaml: key 'nodes\[2\]': node 'l4' field 'inputs'"):
        load_graph(bad)


MALFORMED = [
    ("[1, 2]", r"<string>: top level: expected a mapping, got list"),
    ("", r"<string>: top level: expected a mapping, got NoneType"),
    ("name: n\nnodes: []\n", r"<string>: top level: missing key 'outputs'"),
    ("name: n\nnodes: []\noutputs: []\ncolour: red\n", r"<string>: top level: unknown key 'colour'"),
    ("name: n\nnodes: {}\noutputs: []\n", r"<string>: key 'nodes': expected a list, got dict"),
    ("name: n\nnodes: [3]\noutputs: []\n", r"<string>: key 'nodes\[0\]': expected a mapping, got int"),
    ("name: n\nnodes: [{name: a, op: sum}]\noutputs: []\n", r"key 'nodes\[0\]': missing key 'inputs'"),
    ("name: n\nnodes: [{name: a, op: sum, inputs: [x], lvl: 3}]\noutputs: []\n",
     r"key 'nodes\[0\]': unknown key 'lvl'"),
    ("name: n\nnodes: [{name: a, op: 3, inputs: [x]}]\noutputs: []\n",
     r"key 'nodes\[0\]': node 'a' field 'op': expected a string, got int"),
    ("name: n\nnodes: [{name: a, op: sum, inputs: [x], level: two}]\noutputs: []\n",
     r"node 'a' field 'level': expected an integer"),
    ("name: n\nnodes: [{name: a, op: sum, inputs: [x], level: 1180591620717411303424}]\noutputs: []\n",
     r"node 'a' field 'level': must be between 0 and 31, got 1180591620717411303424"),
    ("name: n\nnodes: [{name: a, op: sum, inputs: [x], args: [1]}]\noutputs: []\n",
     r"node 'a' field 'args': expected a mapping, got list"),
    ("name: n\nnodes: [{name: a, op: sum, inputs: [x], args: {mode: .nan}}]\noutputs: []\n",
     r"node 'a' field 'args': values must be finite"),
    ("name: n\nnodes: [{name: a, op: sum, inputs: [x], args: {mode: 2020-01-01}}]\noutputs: []\n",
     r"node 'a' field 'args': values must be JSON scalars"),
    ("name: n\nnodes: []\noutputs: p5\n", r"<string>: graph field 'outputs': expected a list of names"),
    ("name: n\nchannels: 2.5\nnodes: []\noutputs: []\n", r"<string>: graph field 'channels': expected an integer"),
    ("name: n\nchannels: 0\nnodes: []\noutputs: []\n", r"graph field 'channels': must be between 1 and 4096"),
    ("name: n\nchannels: 100000\nnodes: []\noutputs: []\n", r"graph field 'channels': must be between 1 and 4096"),
    ("name: [n]\nnodes: []\noutputs: []\n", r"<string>: graph field 'name': expected a string, got list"),
    ("name: n\nnodes: []\noutputs: []\ndetector: fpn\n", r"<string>: key 'detector': expected a mapping"),
    ("name: n\nnodes: []\noutputs: []\ndetector: {roi: srs}\n", r"key 'detector': unknown key 'roi'"),
    ("name: n\nnodes: []\noutputs: []\ndetector: {consistent_supervision: -1}\n",
     r"key 'detector': detector field 'consistent_supervision': expected a finite number >= 0"),
    ("name: n\nnodes: [}\n", r"<string>: not valid YAML"),
    ("name: !!timestamp 1\nnodes: []\noutputs: []\n", r"<string>: not valid YAML"),
    ("name: n\nnodes: []\noutputs: []\ndetector: {output_dropblock: !!set {a}}\n",
     r"key 'detector': detector field 'output_dropblock': expected a mapping, got set"),
    ("name: n\nnodes: []\noutputs: []\nname: m\n\t", r"<string>: not valid YAML"),
]


@pytest.mark.parametrize("text, message", MALFORMED)
def test_malformed_yaml_raises_graph_error_naming_source_and_key(text, message):
    with pytest.raises(GraphError, match=message):
        NeckGraph.from_yaml(text)


def test_malformed_json_raises_graph_error_naming_the_source():
    with pytest.raises(GraphError, match=r"neck\.json: not valid JSON"):
        NeckGraph.from_json("{\"name\": ", source="neck.json")
    with pytest.raises(GraphError, match=r"neck\.json: key 'nodes\[0\]': missing key 'op'"):
        NeckGraph.from_json(json.dumps({"name": "n", "nodes": [{"name": "a", "inputs": []}], "outputs": []}),
                            source="neck.json")


def test_a_recursive_yaml_alias_is_a_graph_error():
    with pytest.raises(GraphError, match="nested too deeply"):
        NeckGraph.from_yaml("name: n\nnodes: [{name: a, op: sum, inputs: [x], args: &a {k: [*a]}}]\noutputs: []\n")


def test_python_construction_checks_types_too():
    with pytest.raises(GraphError, match=r"graph field 'nodes': expected a list of Node"):
        NeckGraph(name="n", nodes=[{"name": "a"}], outputs=())
    with pytest.raises(GraphError, match=r"node 'a' field 'args': keys must be strings, got 1"):
        Node("a", "sum", ("x", "y"), {1: 2})
    for bad in ("", "p.3", "3p", "p 3"):
        with pytest.raises(GraphError, match=rf"node '{re.escape(bad)}' field 'name': must be an identifier"):
            Node(bad, "sum", ("x", "y"))


@pytest.mark.parametrize("name", ["\x85fpn", "a\u2028b", "c\u2029", "A²-FPN"])
def test_yaml_round_trips_unicode_line_breaks_and_non_ascii(fpn, name):
    graph = dataclasses.replace(fpn, name=name, paper=name)
    assert NeckGraph.from_yaml(graph.to_yaml()) == graph
