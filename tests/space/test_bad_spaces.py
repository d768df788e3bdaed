"""Malformed spaces fail when loaded, with a SpaceError naming the file and the key at fault."""
import re

import pytest

from necksearch.errors import NeckSearchError
from necksearch.space import SpaceError, load_space

from tests.space.helpers import write

GOOD = """templates: [pyramid]
parameters:
  td/op: [sum, gacarafe]
"""


def _fails(tmp_path, text, key, *fragments):
    path = write(tmp_path, text)
    with pytest.raises(SpaceError) as info:
        load_space(path)
    message = str(info.value)
    assert str(path) in message, message
    assert f"key {key!r}" in message, message
    for fragment in fragments:
        assert re.search(fragment, message), message
    return message


def test_the_good_base_loads(tmp_path):
    assert load_space(write(tmp_path, GOOD)).labels()["td/op"].names == ("sum", "gacarafe")


def test_unknown_operation(tmp_path):
    _fails(tmp_path, GOOD.replace("gacarafe]", "gacarafee]"), "parameters.td/op", "unknown operation 'gacarafee'")


def test_an_operation_of_another_slot(tmp_path):
    _fails(tmp_path, GOOD.replace("gacarafe]", "gacap]"), "parameters.td/op", "'gacap' cannot fill this slot")


@pytest.mark.parametrize("text, key, fragment", [
    pytest.param(GOOD.replace("[sum, gacarafe]", "[]"),
                 "parameters.td/op", "empty", id="empty_choices"),
    pytest.param(GOOD + "  lateral/mgc/entities: {choices: {}}\n",
                 "parameters.lateral/mgc/entities", "empty", id="empty_named_choices"),
    pytest.param(GOOD + "  td/gacarafe/up_kernel: {type: int, low: 7, high: 3}\n",
                 "parameters.td/gacarafe/up_kernel", "inverted range", id="inverted_int_range"),
    pytest.param(GOOD + "  detector/consistent_supervision: {type: float, low: 0.5, high: 0.1}\n",
                 "parameters.detector/consistent_supervision", "inverted range", id="inverted_float_range"),
    pytest.param(GOOD + "  td/gacarafe/up_kernel: {type: int, low: 0, high: 4, step: 2}\n",
                 "parameters.td/gacarafe/up_kernel.low", "odd integer", id="range_of_values_the_parameter_cannot_take"),
    pytest.param(GOOD + "  td/gacarafe/compressed_channels: {type: int, low: 16, high: 60, step: 16}\n",
                 "parameters.td/gacarafe/compressed_channels.high", "grid", id="range_off_its_step_grid"),
    pytest.param(GOOD + "  td/gacarafe/up_kernel: {type: float, low: 3, high: 5}\n",
                 "parameters.td/gacarafe/up_kernel.type", "cannot give", id="a_float_range_for_an_integer_parameter"),
    pytest.param(GOOD + "  detector/consistent_supervision: {type: float, low: 0.0, high: 1.0, log: true}\n",
                 "parameters.detector/consistent_supervision.log", "low > 0", id="log_range_from_zero"),
])
def test_bad_values_and_ranges(tmp_path, text, key, fragment):
    _fails(tmp_path, text, key, fragment)


def test_duplicate_label(tmp_path):
    _fails(tmp_path, GOOD + "  td/op: [sum]\n", "td/op", "duplicate", "line 4")


def test_duplicate_choice(tmp_path):
    _fails(tmp_path, GOOD.replace("[sum, gacarafe]", "[sum, sum]"), "parameters.td/op", "duplicate choices")


def test_unknown_top_level_key(tmp_path):
    _fails(tmp_path, GOOD + "paramters: {}\n", "paramters", "unknown key")


def test_unknown_key_in_a_range(tmp_path):
    _fails(tmp_path, GOOD + "  td/gacarafe/up_kernel: {type: int, low: 3, hihg: 5}\n",
           "parameters.td/gacarafe/up_kernel.hihg", "unknown key")


def test_unknown_label(tmp_path):
    _fails(tmp_path, GOOD + "  td/gacarafe/kernel: [3]\n", "parameters.td/gacarafe/kernel", "unknown label")


def test_a_per_level_label_written_out(tmp_path):
    _fails(tmp_path, GOOD + "  td/p3/op: [sum]\n", "parameters.td/p3/op", "per_level")


def test_a_label_of_a_template_the_space_does_not_use(tmp_path):
    _fails(tmp_path, GOOD + "  fpt/self/op: [none, st]\n", "parameters.fpt/self/op", "template fpt")


def test_wrong_type_of_a_choice(tmp_path):
    _fails(tmp_path, GOOD + "  lateral/rfa: [false, 'yes']\n", "parameters.lateral/rfa", "true or false")


def test_wrong_type_of_a_constant(tmp_path):
    _fails(tmp_path, GOOD + "  channels: wide\n", "parameters.channels", "integer")


def test_list_valued_choices_need_names(tmp_path):
    _fails(tmp_path, GOOD + "  lateral/mgc/entities: [[64, 64, 64, 64]]\n", "parameters.lateral/mgc/entities",
           "names")


def test_wrong_type_of_templates(tmp_path):
    _fails(tmp_path, "templates: pyramid\n", "templates", "list of names")


def test_missing_templates(tmp_path):
    _fails(tmp_path, "parameters: {}\n", "templates", "missing")


def test_unknown_template(tmp_path):
    _fails(tmp_path, "templates: [pyramid, nasfpn]\n", "templates", "unknown template 'nasfpn'")


def test_unknown_per_level_group(tmp_path):
    _fails(tmp_path, GOOD + "per_level: {fpt: true}\n", "per_level.fpt", "unknown group")


def test_bad_constraint(tmp_path):
    _fails(tmp_path, GOOD + "constraints: {max_neck_params: -1}\n", "constraints.max_neck_params", "positive")


def test_unknown_constraint(tmp_path):
    _fails(tmp_path, GOOD + "constraints: {max_latency: 3}\n", "constraints.max_latency", "unknown constraint")


def test_yaml_syntax_error(tmp_path):
    path = write(tmp_path, GOOD + "  td/sum/mode: [nearest\n")
    with pytest.raises(SpaceError, match=re.escape(str(path)) + ": not valid YAML"):
        load_space(path)


def test_not_a_mapping(tmp_path):
    path = write(tmp_path, "- templates\n")
    with pytest.raises(SpaceError, match=re.escape(str(path)) + ": top level: expected a mapping"):
        load_space(path)


def test_unknown_preset(tmp_path):
    _fails(tmp_path, GOOD + "presets: [fpn, fpn_nope]\n", "presets", "unknown preset 'fpn_nope'")


def test_a_listed_preset_the_space_cannot_produce(tmp_path):
    _fails(tmp_path, GOOD + "presets: [fpn, pafpn]\n", "presets", "preset 'pafpn' is not a point of this space")


def test_a_listed_preset_the_space_can_produce_loads(tmp_path):
    space = load_space(write(tmp_path, GOOD + "  bu/op: [none, strided_conv_sum]\npresets: [fpn, pafpn]\n"))
    assert space.presets == ("fpn", "pafpn")


def test_a_missing_file(tmp_path):
    with pytest.raises(SpaceError, match="cannot read the space file"):
        load_space(tmp_path / "absent.yaml")


def test_space_error_is_the_project_error():
    assert issubclass(SpaceError, NeckSearchError) and issubclass(SpaceError, ValueError)


def test_a_recursive_yaml_alias(tmp_path):
    _fails(tmp_path, GOOD + "  lateral/mgc/entities: {choices: {a: &x [*x]}}\n",
           "parameters.lateral/mgc/entities.choices.a", "list of 4 integers")


def test_a_section_of_the_wrong_type(tmp_path):
    _fails(tmp_path, "templates: [pyramid]\nparameters: 0\n", "parameters", "expected a mapping")


@pytest.mark.parametrize("rules, key, fragment", [
    ("rules: {lateral/op: mgc}", "rules", "expected a list"),
    ("rules: [{if: {td/op: sum}}]", "rules[0]", r"expected \{if"),
    ("rules: [{if: {td/op: sum}, then: {td/op: sum}, because: x}]", "rules[0]", "unknown keys because"),
    ("rules: [{if: {no/such: 1}, then: {td/op: sum}}]", "rules[0].if.no/such", "not a label this space searches"),
    ("rules: [{if: {lateral/op: mgc}, then: {td/op: sum}}]", "rules[0].if.lateral/op", "not a label this space"),
    ("rules: [{if: {td/op: sum}, then: {td/op: carafe}}]", "rules[0].then.td/op", "'carafe' is not one of its values"),
    ("rules: [{if: {td/op: sum}, then: {}}]", "rules[0].then", "names no label"),
])
def test_bad_rules(tmp_path, rules, key, fragment):
    _fails(tmp_path, GOOD + rules + "\n", key, fragment)


@pytest.mark.parametrize("bound, key, fragment", [
    ("max_train_cost: 1.25", "max_train_cost", "expected a mapping"),
    ("max_train_cost: {ratio: 1.25}", "max_train_cost", r"expected \{reference"),
    ("max_train_cost: {reference: augfpn, ratio: 1.25, per: iteration}", "max_train_cost", "unknown keys per"),
    ("max_train_cost: {reference: no_such_neck, ratio: 1.25}", "max_train_cost.reference", "unknown preset"),
    ("max_train_cost: {reference: augfpn, ratio: 0}", "max_train_cost.ratio", "expected a positive number"),
    ("max_train_cost: {reference: augfpn, ratio: true}", "max_train_cost.ratio", "expected a positive number"),
])
def test_bad_train_cost_bounds(tmp_path, bound, key, fragment):
    _fails(tmp_path, GOOD + bound + "\n", key, fragment)
