"""SearchSpace behaviour beyond the presets: freeze errors, shared vs per-level labels, derived values,
containment of graphs outside the space, constraints and label listings."""
import dataclasses
import math

import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import FixedTrial

from necksearch.graph import NeckGraph, Node
from necksearch.graph.presets import load_preset
from necksearch.space import SpaceError, list_spaces, load_space
from necksearch.space.distributions import Categorical

from tests.space.helpers import space, write

FPN_SAMPLE = {"template": "pyramid", "lateral/op": "lateral", "lateral/rfa": False, "top/op": "maxpool_down",
              **{f"td/p{l}/op": "sum" for l in (2, 3, 4)}, **{f"td/p{l}/sum/mode": "nearest" for l in (2, 3, 4)},
              **{f"bu/p{l}/op": "none" for l in (3, 4, 5)}, "detector/roi_extractor": "fpn",
              "detector/consistent_supervision": 0.0, "detector/output_dropblock": "none"}


def test_a_hand_written_sample_freezes_to_fpn():
    assert space("default").freeze(FPN_SAMPLE).canonical_hash() == load_preset("fpn").canonical_hash()


def test_freeze_names_a_missing_label():
    sample = {k: v for k, v in FPN_SAMPLE.items() if k != "td/p3/op"}
    with pytest.raises(SpaceError, match="no value for 'td/p3/op'"):
        space("default").freeze(sample)


def test_freeze_names_an_out_of_range_value():
    with pytest.raises(SpaceError, match="'td/p3/op' = 'cap' is outside the space"):
        space("default").freeze({**FPN_SAMPLE, "td/p3/op": "cap"})
    with pytest.raises(SpaceError, match="'detector/consistent_supervision' = 0.3"):
        space("default").freeze({**FPN_SAMPLE, "detector/consistent_supervision": 0.3})


def test_freeze_names_labels_the_point_does_not_use():
    with pytest.raises(SpaceError, match="'td/p3/gacarafe/gate'"):
        space("default").freeze({**FPN_SAMPLE, "td/p3/gacarafe/gate": "sigmoid"})
    with pytest.raises(SpaceError, match="mapping"):
        space("default").freeze([("template", "pyramid")])


def test_a_fixed_trial_outside_the_space_is_a_space_error():
    sample = {**FPN_SAMPLE, "td/p2/op": "gacarafe", "td/p2/gacarafe/gate": "2sigmoid",
              "td/p2/gacarafe/up_kernel": 9}
    with pytest.raises(SpaceError, match="'td/p2/gacarafe/up_kernel' = 9"), pytest.warns(UserWarning):
        space("default").suggest(FixedTrial(sample))


def test_numbers_are_accepted_as_numbers_but_booleans_are_not():
    s = space("default")
    assert s.freeze({**FPN_SAMPLE, "detector/consistent_supervision": 0}).canonical_hash() == \
        load_preset("fpn").canonical_hash()
    with pytest.raises(SpaceError, match="lateral/rfa"):
        s.freeze({**FPN_SAMPLE, "lateral/rfa": 0})


def test_shared_groups_have_one_label_and_per_level_groups_one_per_level():
    shared = space("a2fpn").sample_of(load_preset("a2fpn_gacarafe_gacap"))
    assert shared["td/op"] == "gacarafe" and shared["bu/op"] == "gacap"
    assert not any("/p3/" in label for label in shared)
    assert "template" not in shared  # one template: no template label
    independent = space("default").sample_of(load_preset("a2fpn_gacarafe_gacap"))
    assert {independent[f"td/p{l}/op"] for l in (2, 3, 4)} == {"gacarafe"} and "td/op" not in independent


def test_derived_values_are_not_labels():
    s = space("default")
    labels = set(s.labels())
    assert not any("orthogonal_weight" in l or "pool_ratio" in l or "num_inputs" in l for l in labels)
    mgc = s.freeze(s.sample_of(load_preset("a2fpn_mgc")))
    assert mgc.detector.mgc_orthogonal_weight == 1e-4
    assert s.freeze(FPN_SAMPLE).detector.mgc_orthogonal_weight == 0.0
    mssa = {n.name: n for n in s.freeze(s.sample_of(load_preset("mssa_fpn"))).nodes}
    assert [mssa[f"t{l}"].args["pool_ratio"] for l in (5, 4, 3, 2)] == [2, 4, 8, 16]
    adaptive = s.freeze(s.sample_of(load_preset("mssa_fpn_adaptive_pool")))
    assert all("pool_ratio" not in n.args for n in adaptive.nodes)


def test_arguments_at_their_op_default_are_left_out():
    s = space("default")
    sample = {**FPN_SAMPLE, "td/p2/op": "gacarafe", "td/p2/gacarafe/gate": "2sigmoid",
              "td/p2/gacarafe/up_kernel": 5}
    del sample["td/p2/sum/mode"]
    nodes = {n.name: n for n in s.freeze(sample).nodes}
    assert nodes["t2"].op == "gacarafe" and dict(nodes["t2"].args) == {}
    nodes = {n.name: n for n in s.freeze({**sample, "td/p2/gacarafe/up_kernel": 7}).nodes}
    assert dict(nodes["t2"].args) == {"up_kernel": 7}


def _replace_node(graph, name, **changes):
    nodes = tuple(dataclasses.replace(n, **changes) if n.name == name else n for n in graph.nodes)
    return dataclasses.replace(graph, nodes=nodes)


def test_graphs_outside_the_space_are_not_contained():
    s, fpn = space("default"), load_preset("fpn")
    assert not s.contains(fpn.with_channels(128))                      # width is a constant 256
    assert not s.contains(_replace_node(fpn, "t3", args={"mode": "bicubic"}))
    assert not s.contains(_replace_node(fpn, "p3", op="st"))           # no unary refinement slot there
    assert not s.contains(dataclasses.replace(fpn, outputs=fpn.outputs[:-1]))
    assert not s.contains(_replace_node(load_preset("a2fpn"), "t3", args={"up_kernel": 9}))  # range 3..7
    with pytest.raises(SpaceError, match="does not contain graph 'fpn'"):
        s.sample_of(fpn.with_channels(128))


def test_a_malformed_graph_is_not_contained():
    cyclic = NeckGraph(name="cycle", nodes=(Node("a", "conv3x3", ("b",)), Node("b", "conv3x3", ("a",))),
                       outputs=("a",))
    assert not space("default").contains(cyclic)
    with pytest.raises(SpaceError):
        space("default").sample_of(cyclic)
    with pytest.raises(SpaceError, match="NeckGraph"):
        space("default").sample_of("fpn")


def test_labels_list_every_reachable_label_with_an_optuna_distribution():
    labels = space("default").labels()
    assert isinstance(labels["td/p3/op"].to_optuna(), CategoricalDistribution)
    assert isinstance(labels["td/p3/gacarafe/up_kernel"].to_optuna(), IntDistribution)
    assert "bu/p6/op" in labels and "td/p5/op" in labels and "fpt/self/op" in labels
    augfpn = space("augfpn").labels()
    assert set(augfpn) == {"lateral/rfa", "lateral/rfa/fusion", "lateral/rfa/ratios",
                           "detector/roi_extractor", "detector/consistent_supervision"}
    assert isinstance(augfpn["lateral/rfa/ratios"], Categorical) and augfpn["lateral/rfa/ratios"].named


def test_labels_skip_levels_and_branches_the_declared_choices_cannot_reach(tmp_path):
    s = load_space(write(tmp_path, "templates: [pyramid]\nper_level: {td: true, bu: true}\nparameters:\n"
                                   "  td/op: [sum, carafe]\n  bu/op: [none, cap]\n  td/gacarafe/gate: [sigmoid]\n"
                                   "  bu/cap/down_kernel: [3, 5]\n  bu/p2/conv: [false, true]\n"))
    labels = set(s.labels())
    assert {"td/p2/op", "td/p4/op", "bu/p3/op", "bu/p5/op", "bu/p2/conv", "bu/p4/cap/down_kernel"} <= labels
    assert not {"td/p5/op", "bu/p6/op", "td/p2/gacarafe/gate", "bu/p2/cap/down_kernel"} & labels
    assert "bu/p4/sum/mode" not in labels and "td/p3/sum/mode" not in labels  # undeclared: op default


def test_constraints_are_stored_and_checked_against_the_callers_counts(tmp_path):
    s = load_space(write(tmp_path, "templates: [pyramid]\nconstraints: {max_neck_params: 4.0e6, "
                                   "max_neck_flops: null}\n"))
    assert s.constraints == {"max_neck_params": 4e6}
    assert s.check_constraints({"params": 3_344_384, "flops": 6e10}) == []
    assert s.check_constraints({"params": 6_884_864}) == ["max_neck_params: 6.88486e+06 > 4e+06"]
    assert s.constraint_values({"params": 5e6}) == [1e6]
    with pytest.raises(SpaceError, match="needs a finite count 'params'"):
        s.check_constraints({"flops": 1.0})
    with pytest.raises(SpaceError, match="finite"):
        s.check_constraints({"params": math.nan})
    assert space("default").check_constraints({}) == []


def test_spaces_load_by_name_and_the_shipped_ones_are_listed():
    assert {"default", "a2fpn", "fpt", "augfpn", "mssa"} <= set(list_spaces())
    assert load_space("fpt").name == "fpt" and load_space("fpt").templates[0].name == "fpt"


def test_frozen_graphs_are_named_after_space_and_template():
    assert space("default").freeze(FPN_SAMPLE).name == "default/pyramid"


def test_a_rule_refuses_the_combinations_it_names_at_every_level():
    """The default space's rule: MGC laterals only beside GACARAFE at every top-down step (default.yaml says why)."""
    from necksearch.graph.presets import load_preset
    from necksearch.space import load_space
    space = load_space("default")
    sample = {"template": "pyramid", "lateral/op": "mgc", "td/p4/op": "gacarafe", "td/p3/op": "sum",
              "td/p2/op": "gacarafe"}
    (violation,) = space.check_rules(sample)
    assert "lateral/op in ['mgc']" in violation and violation.endswith("td/p3/op=sum")
    assert space.check_rules(dict(sample, **{"td/p3/op": "gacarafe"})) == []
    assert space.check_rules(dict(sample, **{"lateral/op": "lateral"})) == []  # the rule's `if` does not hold
    assert space.check_rules({"template": "fpt"}) == []
    for preset in ("a2fpn", "a2fpn_lite"):  # published A²-FPN necks keep to it; its ablation rows are fixed points
        assert space.check_rules(space.sample_of(load_preset(preset))) == []
