"""Each hyper-parameter's domain comes from its operation's record, and the record tells the truth about the
constructor (this test imports torch)."""
import pytest

from necksearch.catalogue.domain import Domain
from necksearch.catalogue.tables import OP_DEFAULTS, RECORDS
from necksearch.ops import get_op
from necksearch.ops.slots import make_example

STRING_ARGS = [(op, name, domain.choices) for op, record in RECORDS.items() for name, domain in record.args
               if domain.type == "str"]


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
def test_every_default_is_in_its_domain(op):
    for arg, default in OP_DEFAULTS[op].items():
        assert RECORDS[op].arguments[arg].problem(default) is None, (op, arg)
        assert RECORDS[op].arguments[arg].problem("not a value") is not None, (op, arg)


def test_domains_carry_the_records_ranges():
    assert RECORDS["gacarafe"].arguments["up_kernel"].problem(4) is not None          # odd kernel
    assert RECORDS["dropblock"].arguments["drop_prob"].problem(1.0) is not None       # [0, 1)
    assert RECORDS["mgc_context"].arguments["entities"].problem([1, 2, 3]) is not None  # one n_i per level
    assert RECORDS["gt"].arguments["scale_mode"].choices == ("part", "full")


def test_a_domain_round_trips_through_its_json_entry():
    for record in RECORDS.values():
        for _, domain in record.args:
            assert Domain.from_dict(domain.to_dict()) == domain


def test_an_operation_choice_names_an_unknown_operation_and_one_that_cannot_fill_the_slot():
    choice = Domain("op", "sum", choices=("sum", "concat"), known=("sum", "concat", "gacap"))
    assert choice.problem("concat") is None
    assert choice.problem("gacap").startswith("operation 'gacap' cannot fill this slot")
    assert choice.problem("gacarafee").startswith("unknown operation 'gacarafee'")


def test_a_mapping_checks_each_key_in_its_own_domain():
    dropblock = Domain("mapping", nullable=True, fields=RECORDS["dropblock"].args)
    assert dropblock.problem(None) is None and dropblock.problem({"drop_prob": 0.1, "block_size": 5}) is None
    assert dropblock.problem({"keep_prob": 0.9}).startswith("expected a mapping of drop_prob")
    assert dropblock.problem({"block_size": 4}).startswith("block_size: expected an odd integer")
    assert dropblock.coerce({"drop_prob": 0, "block_size": 5}) == {"drop_prob": 0.0, "block_size": 5}
    assert isinstance(dropblock.coerce({"drop_prob": 0})["drop_prob"], float)


def test_a_string_or_operation_domain_needs_its_choices():
    for type_ in ("str", "op"):
        with pytest.raises(ValueError, match="choices"):
            Domain(type_)
    with pytest.raises(ValueError, match="type must be one of"):
        Domain("complex")
