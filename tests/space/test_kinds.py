"""Each hyper-parameter's kind comes from its operation's record, and the record tells the truth about the
constructor (this test imports torch)."""
import pytest

from necksearch.graph.catalogue import OP_DEFAULTS, RECORDS
from necksearch.ops import get_op, list_ops
from necksearch.ops.slots import make_example
from necksearch.space.kinds import ARG_KINDS, DERIVED_ARGS
from necksearch.space.schema import searchable_args
from necksearch.space.templates import BU_OPS, TD_OPS

STRING_ARGS = [(op, name, arg.choices) for op, record in RECORDS.items() for name, arg in record.args
               if arg.type == "str"]


def build(op, **kwargs):
    spec = get_op(op)
    structural, _ = make_example(spec, channels=8, image_hw=(32, 32))
    return spec.cls(**structural, **kwargs)


@pytest.mark.parametrize("op, name, choices", STRING_ARGS, ids=[f"{op}.{name}" for op, name, _ in STRING_ARGS])
def test_every_string_choice_builds_and_another_string_is_refused(op, name, choices):
    for choice in choices:
        build(op, **{name: choice})
    with pytest.raises(ValueError):
        build(op, **{name: "not_a_choice"})


@pytest.mark.parametrize("op", sorted(OP_DEFAULTS))
def test_every_default_is_of_its_kind(op):
    for arg, default in OP_DEFAULTS[op].items():
        assert ARG_KINDS[op][arg].problem(default) is None, (op, arg)
        assert ARG_KINDS[op][arg].problem("not a value") is not None, (op, arg)


def test_kinds_carry_the_records_ranges():
    assert ARG_KINDS["gacarafe"]["up_kernel"].problem(4) is not None          # odd kernel
    assert ARG_KINDS["dropblock"]["drop_prob"].problem(1.0) is not None       # [0, 1)
    assert ARG_KINDS["mgc_context"]["entities"].problem([1, 2, 3]) is not None  # one n_i per level
    assert ARG_KINDS["gt"]["scale_mode"].allowed == ("part", "full")


def test_derived_arguments_are_never_searched():
    assert {op: args for op, args in DERIVED_ARGS.items() if args} == {
        "concat": ("num_inputs",), "mssa": ("pool_ratio",), "msca": ("pool_ratio",)}
    assert "pool_ratio" not in searchable_args("mssa") and "heads" in searchable_args("mssa")


def test_the_pyramid_template_offers_every_registered_fusion():
    slots = {spec.name: spec.slot for spec in list_ops()}
    assert set(TD_OPS) == {op for op, slot in slots.items() if slot == "up"}
    assert set(BU_OPS) - {"none"} == {op for op, slot in slots.items() if slot == "down"}
