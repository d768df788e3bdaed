"""The supernet's view of a space (necksearch.space.single_path): one template, uniform draws, every candidate."""
import collections
import random

import pytest

from necksearch.graph.presets import load_preset
from necksearch.space import SpaceError
from necksearch.space.loader import parse_space
from necksearch.space.single_path import (HELD_LABELS, UniformTrial, as_path, draw, enumerate_candidates,
                                          one_template, path_steps, reference_graph, template_candidates)
from tests.space.helpers import space

WIDTHS = {"c2": 8, "c3": 16, "c4": 32, "c5": 64}

#: Counted by hand: laterals l2..l5 (4); top-down t4, t3, t2 each sum or concat (6; top/op is max-pool, so no t5);
#: 3×3 convs d2..d4, one per fusion op before them (a fusion and its conv are one choice block: 6), and d5 after
#: the lateral (1); one bottom-up choice for all levels: strided_conv_sum u3..u5 and their convs o3..o5 (6); the
#: max-pooled level 6 o6 (1: whether it pools d5 or o5, its input is a plain conv3x3). 24 in all.
TINY = """
name: tiny
templates: [pyramid]
per_level: {td: true, bu: false}
parameters:
  td/op: [sum, concat]
  bu/op: [none, strided_conv_sum]
"""


def tiny_space():
    return one_template(parse_space(TINY, "<tiny>"), None)


def test_every_candidate_of_a_small_space_is_found_and_counted_by_hand():
    found = enumerate_candidates(tiny_space(), 16, WIDTHS)
    ops = collections.Counter(node.op for _, node in found.by_key.values())
    assert len(found.by_key) == 24
    assert ops == {"lateral": 4, "sum": 3, "concat": 3, "conv3x3": 10, "strided_conv_sum": 3, "maxpool_down": 1}


def test_enumeration_is_deterministic_and_its_digest_names_the_set():
    first, again = (enumerate_candidates(tiny_space(), 16, WIDTHS) for _ in range(2))
    assert first.digest == again.digest and first.draws == again.draws
    assert enumerate_candidates(tiny_space(), 32, WIDTHS).digest != first.digest  # other widths, other modules


def test_candidate_key_is_position_op_args_shapes_and_the_block_a_conv_follows():
    graph = draw(tiny_space(), random.Random(0)).with_channels(16, WIDTHS)
    keys = dict((node.name, key) for key, node in path_steps(graph, WIDTHS))
    assert len(set(keys.values())) == len(keys)  # every position its own weights
    assert all(key.startswith(f"{name}_") for name, key in keys.items())
    wider = graph.with_channels(32, WIDTHS)
    assert dict((n.name, k) for k, n in path_steps(wider, WIDTHS))["l2"] != keys["l2"]
    other_fusion = _with_td_op(graph, "t3", "concat" if _op(graph, "t3") == "sum" else "sum")
    changed = {n.name for k, n in path_steps(other_fusion, WIDTHS) if keys.get(n.name) != k}
    assert changed == {"t3", "d3"}  # the fusion and its conv: one block; t2 reads t3 but keeps its weights


def _op(graph, name):
    return next(node.op for node in graph.nodes if node.name == name)


def _with_td_op(graph, name, op):
    import dataclasses
    nodes = tuple(dataclasses.replace(node, op=op, args={"num_inputs": 2} if op == "concat" else {})
                  if node.name == name else node for node in graph.nodes)
    return dataclasses.replace(graph, nodes=nodes)


def test_a_space_with_several_templates_needs_one_named():
    with pytest.raises(SpaceError, match=r"templates pyramid, fpt.*--template"):
        one_template(space("default"), None)
    with pytest.raises(SpaceError, match=r"no template 'nas'"):
        one_template(space("default"), "nas")


def test_detector_level_choices_are_held_at_their_defaults():
    held = one_template(space("default"), "pyramid")
    rng = random.Random(1)
    for _ in range(30):
        detector = draw(held, rng).detector
        assert (detector.roi_extractor, detector.consistent_supervision, detector.output_dropblock) == ("fpn", 0.0, None)
    assert all(label not in held.labels() for label in HELD_LABELS)
    assert "template" not in held.labels()


def test_a_published_neck_becomes_a_path_with_the_templates_node_names():
    held = one_template(space("default"), "pyramid")
    path = as_path(held, load_preset("augfpn"))  # SRS and CS in the paper: held at the supernet's defaults
    assert path.detector.roi_extractor == "fpn" and path.detector.consistent_supervision == 0.0
    assert {"r5", "a5", "t4", "d2"} <= {node.name for node in path.nodes}
    with pytest.raises(SpaceError, match="does not contain"):
        as_path(held, load_preset("fpt"))


def test_the_reference_path_is_the_first_fixed_point_or_preset_of_the_template():
    assert reference_graph(one_template(space("default"), "pyramid")).canonical_hash() == \
        as_path(one_template(space("default"), "pyramid"), load_preset("fpn")).canonical_hash()
    fpt = one_template(space("default"), "fpt")
    assert reference_graph(fpt).canonical_hash() == as_path(fpt, load_preset("fpt")).canonical_hash()


def test_a_continuous_range_cannot_be_a_supernet_choice():
    with pytest.raises(SpaceError, match="continuous range"):
        UniformTrial(random.Random(0)).suggest_float("x", 0.0, 1.0)


def test_a_space_files_candidates_are_enumerated_once_per_content(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    first = template_candidates(str(path), None, 16, WIDTHS)
    assert template_candidates(str(path), None, 16, WIDTHS) is first  # the second caller pays nothing
    assert first.digest == enumerate_candidates(tiny_space(), 16, WIDTHS).digest
    path.write_text(TINY.replace("[sum, concat]", "[sum]"), encoding="utf-8")
    changed = template_candidates(str(path), None, 16, WIDTHS)
    assert changed is not first and len(changed.by_key) < len(first.by_key)  # an edited file is enumerated again
