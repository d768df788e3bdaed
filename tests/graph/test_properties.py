"""Property tests: any corrupted graph data or text is either a graph or a GraphError, never a crash."""
import copy
import dataclasses

from hypothesis import HealthCheck, given, settings, strategies as st

from necksearch.catalogue.tables import OP_SLOTS
from necksearch.graph import GraphError, NeckGraph, Node
from tests.graph.graphs import fpn_graph, pafpn_graph
from tests.graph.test_hash import renamed
from tests.graph.test_serial import with_args

BASES = [fpn_graph(), pafpn_graph(), with_args()]
NAMES = ["c2", "c3", "c5", "l4", "t3", "p5", "p6", "ctx", "", *OP_SLOTS, "name", "inputs", "args", "level"]
SCALARS = (st.none() | st.booleans() | st.integers(-3, 2**70) | st.floats() | st.text(max_size=6)
           | st.sampled_from(NAMES))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=4) | st.sampled_from(NAMES), inner, max_size=3),
                      max_leaves=6)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def slots(data, found=None):
    """Every (container, key) pair in nested dicts and lists."""
    found = [] if found is None else found
    keys = list(data) if isinstance(data, dict) else range(len(data)) if isinstance(data, list) else []
    for key in keys:
        found.append((data, key))
        slots(data[key], found)
    return found


def exercise(make):
    """Build a graph with ``make``; it must round-trip exactly and validate, hash and describe or raise GraphError."""
    try:
        graph = make()
    except GraphError:
        return
    assert NeckGraph.from_yaml(graph.to_yaml()) == graph
    assert NeckGraph.from_json(graph.to_json()) == graph
    try:
        graph.validate()
        graph.summary()
        graph.canonical_hash()
    except GraphError:
        pass


@PROPERTY
@given(base=st.sampled_from(BASES), data=st.data())
def test_corrupted_dicts_are_graphs_or_graph_errors(base, data):
    tree = copy.deepcopy(base.to_dict())
    for _ in range(data.draw(st.integers(1, 3))):
        container, key = data.draw(st.sampled_from(slots(tree)))
        action = data.draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "delete":
            del container[key]
        elif action == "replace":
            container[key] = data.draw(VALUES)
        elif isinstance(container, dict):
            container[data.draw(st.text(max_size=4) | st.sampled_from(NAMES))] = data.draw(VALUES)
        else:
            container.insert(key, data.draw(VALUES))
    exercise(lambda: NeckGraph.from_dict(tree))


@PROPERTY
@given(base=st.sampled_from(BASES), data=st.data())
def test_corrupted_yaml_and_json_text_is_a_graph_or_a_graph_error(base, data):
    text = data.draw(st.sampled_from([base.to_yaml(), base.to_json()]))
    for _ in range(data.draw(st.integers(1, 3))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 12)))
        tail = text[end:] if data.draw(st.booleans()) else ""  # no tail: truncated text
        text = text[:start] + data.draw(st.text(max_size=6) | st.sampled_from([":", "[", "{", "- ", "\n"])) + tail
    exercise(lambda: NeckGraph.from_yaml(text))
    exercise(lambda: NeckGraph.from_json(text))


@st.composite
def random_graphs(draw):
    """Graphs of random ops wired to random earlier (or later: cycles) nodes; most are invalid."""
    count = draw(st.integers(1, 7))
    names = [f"n{i}" for i in range(count)]
    pool = ["c2", "c3", "c4", "c5", *names]
    nodes = [Node(name, draw(st.sampled_from(sorted(OP_SLOTS))),
                  tuple(draw(st.lists(st.sampled_from(pool[:4 + i + draw(st.integers(0, 1))]), min_size=1,
                                      max_size=3))),
                  level=draw(st.none() | st.integers(2, 7)))
             for i, name in enumerate(names)]
    outputs = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    return NeckGraph(name="random", nodes=nodes, outputs=outputs, channels=draw(st.sampled_from([256, 512])))


@PROPERTY
@given(graph=random_graphs(), data=st.data())
def test_random_graphs_validate_or_raise_and_hash_ignores_order_and_names(graph, data):
    exercise(lambda: graph)
    try:
        digest = graph.canonical_hash()
    except GraphError:
        return
    shuffled = dataclasses.replace(graph, nodes=data.draw(st.permutations(graph.nodes)))
    assert shuffled.canonical_hash() == digest == renamed(graph, "x").canonical_hash()
