"""The torch-free catalogue agrees with the operation registry (this test imports torch)."""
import dataclasses
import inspect

import pytest

from necksearch.catalogue import tables
from necksearch.catalogue.record import RECORDS_FILE, dump_records, load_records
from necksearch.catalogue.slot import SLOTS
from necksearch.errors import NeckSearchError
from necksearch.graph import DetectorChoices
from necksearch.ops import get_op, list_ops
from necksearch.ops.slots import make_example


def test_records_json_is_what_the_declarations_give():
    """``records.json`` (the torch-free copy) equals the records ``register_op`` built from each op's signature;
    regenerate it with ``scripts/necksearch ops --write-records``."""
    assert load_records(RECORDS_FILE) == [spec.record for spec in list_ops()]
    assert RECORDS_FILE.read_text(encoding="utf-8") == dump_records([spec.record for spec in list_ops()])


def test_the_catalogue_holds_every_registered_record():
    assert tables.RECORDS == {spec.name: spec.record for spec in list_ops()}


def test_op_slots_equal_the_registry():
    assert tables.OP_SLOTS == {spec.name: spec.slot for spec in list_ops()}


def test_op_defaults_equal_the_registry_defaults():
    assert tables.OP_DEFAULTS == {spec.name: spec.defaults for spec in list_ops()}
    assert tables.OP_ARGS == {spec.name: frozenset(spec.defaults) for spec in list_ops()}


def test_width_args_are_structural_arguments_of_every_op_of_their_slot():
    for spec in list_ops():
        key = tables.WIDTH_ARGS.get(spec.slot)
        if key is not None:
            assert key in SLOTS[spec.slot].structural_args and spec.accepts(key), spec.name


def test_every_node_slot_has_an_arity_and_roi_has_none():
    assert set(tables.SLOT_ARITY) == set(SLOTS) - {"roi"}


def test_variadic_ops_are_the_fusions_whose_forward_takes_any_number_of_sources():
    variadic = {spec.name for spec in list_ops() if spec.slot in ("up", "down")
                and any(p.kind is p.VAR_POSITIONAL for p in inspect.signature(spec.cls.forward).parameters.values())}
    assert variadic == tables.VARIADIC_OPS


@pytest.mark.parametrize("name", [spec.name for spec in list_ops() if spec.slot == "extra"])
def test_same_width_ops_are_the_extra_ops_that_refuse_a_width_change(name):
    refuses = False
    try:
        get_op(name).cls(in_channels=8, out_channels=4, scale=2)
    except ValueError:
        refuses = True
    assert refuses == (name in tables.SAME_WIDTH_OPS)


def test_orthogonal_loss_ops_are_the_ops_with_an_orthogonal_loss():
    assert tables.ORTHOGONAL_LOSS_OPS == {s.name for s in list_ops() if hasattr(s.cls, "orthogonal_loss")}


def test_roi_extractors_are_fpn_and_the_roi_ops():
    assert set(tables.ROI_EXTRACTORS) == {"fpn"} | {s.name for s in list_ops() if s.slot == "roi"}


def test_the_record_fields_that_name_arguments_name_arguments_of_their_op():
    for name, record in tables.RECORDS.items():
        named = [record.input_count, record.top_ratio, *(a for entry in record.unused_when for a in entry[:2])]
        assert set(filter(None, named)) <= set(record.arguments), name


@pytest.mark.parametrize("name", sorted(tables.INPUT_COUNT_ARGS))
def test_an_input_count_argument_is_how_many_inputs_the_op_takes(name):
    spec = get_op(name)
    structural, inputs = make_example(spec, channels=4, image_hw=(32, 32))
    module = spec.cls(**structural, **{tables.INPUT_COUNT_ARGS[name]: len(inputs) + 1})
    module(*inputs, inputs[-1])
    with pytest.raises(ValueError):
        module(*inputs)


def test_detector_ops_are_fields_of_the_detector_choices():
    fields = {field.name for field in dataclasses.fields(DetectorChoices)}
    assert set(tables.DETECTOR_OPS) <= fields and tables.DETECTOR_OPS == {"output_dropblock": "dropblock"}


def test_a_declaration_that_no_longer_matches_records_json_is_refused(monkeypatch):
    monkeypatch.setattr(tables, "_STALE", {})
    tables.declare(dataclasses.replace(tables.RECORDS["sum"], paper="another paper"))
    assert tables.RECORDS["sum"].paper != "another paper"   # graphs and spaces keep reading the file
    with pytest.raises(NeckSearchError, match="'sum'.*no longer matches .*records.json"):
        get_op("sum")
