"""The torch-free catalogue agrees with the operation registry (this test imports torch)."""
import inspect

import pytest

from necksearch.graph import catalogue
from necksearch.ops import SLOTS, get_op, list_ops
from necksearch.ops.record import RECORDS_FILE, dump_records, load_records


def test_records_json_is_what_the_declarations_give():
    """``records.json`` (the torch-free copy) equals the records ``register_op`` built from each op's signature;
    regenerate it with ``scripts/necksearch ops --write-records``."""
    assert load_records(RECORDS_FILE) == [spec.record for spec in list_ops()]
    assert RECORDS_FILE.read_text(encoding="utf-8") == dump_records([spec.record for spec in list_ops()])


def test_the_catalogue_holds_every_registered_record():
    assert catalogue.RECORDS == {spec.name: spec.record for spec in list_ops()}


def test_op_slots_equal_the_registry():
    assert catalogue.OP_SLOTS == {spec.name: spec.slot for spec in list_ops()}


def test_op_defaults_equal_the_registry_defaults():
    assert catalogue.OP_DEFAULTS == {spec.name: spec.defaults for spec in list_ops()}
    assert catalogue.OP_ARGS == {spec.name: frozenset(spec.defaults) for spec in list_ops()}


def test_width_args_are_structural_arguments_of_every_op_of_their_slot():
    for spec in list_ops():
        key = catalogue.WIDTH_ARGS.get(spec.slot)
        if key is not None:
            assert key in SLOTS[spec.slot].structural_args and spec.accepts(key), spec.name


def test_every_node_slot_has_an_arity_and_roi_has_none():
    assert set(catalogue.SLOT_ARITY) == set(SLOTS) - {"roi"}


def test_variadic_ops_are_the_fusions_whose_forward_takes_any_number_of_sources():
    variadic = {spec.name for spec in list_ops() if spec.slot in ("up", "down")
                and any(p.kind is p.VAR_POSITIONAL for p in inspect.signature(spec.cls.forward).parameters.values())}
    assert variadic == catalogue.VARIADIC_OPS


@pytest.mark.parametrize("name", [spec.name for spec in list_ops() if spec.slot == "extra"])
def test_same_width_ops_are_the_extra_ops_that_refuse_a_width_change(name):
    refuses = False
    try:
        get_op(name).cls(in_channels=8, out_channels=4, scale=2)
    except ValueError:
        refuses = True
    assert refuses == (name in catalogue.SAME_WIDTH_OPS)


def test_orthogonal_loss_ops_are_the_ops_with_an_orthogonal_loss():
    assert catalogue.ORTHOGONAL_LOSS_OPS == {s.name for s in list_ops() if hasattr(s.cls, "orthogonal_loss")}


def test_roi_extractors_are_fpn_and_the_roi_ops():
    assert set(catalogue.ROI_EXTRACTORS) == {"fpn"} | {s.name for s in list_ops() if s.slot == "roi"}
