"""The parameters templates ask for come from the catalogue: every registered fusion is offered, and the
arguments the graph or a template sets are never searched."""
from necksearch.catalogue.tables import DERIVED_ARGS, OP_SLOTS, RECORDS
from necksearch.space.schema import searchable_args
from necksearch.space.templates import BU_OPS, PYRAMID_PARAMS, TD_OPS


def test_derived_arguments_are_never_searched():
    assert {op: args for op, args in DERIVED_ARGS.items() if args} == {
        "concat": ("num_inputs",), "mssa": ("pool_ratio",), "msca": ("pool_ratio",)}
    assert "pool_ratio" not in searchable_args("mssa") and "heads" in searchable_args("mssa")


def test_the_pyramid_template_offers_every_registered_fusion():
    assert set(TD_OPS) == {op for op, slot in OP_SLOTS.items() if slot == "up"}
    assert set(BU_OPS) - {"none"} == {op for op, slot in OP_SLOTS.items() if slot == "down"}


def test_an_op_hyper_parameter_is_searched_in_the_domain_of_its_record():
    params = {param.name: param for param in PYRAMID_PARAMS}
    assert params["td/gacarafe/up_kernel"].domain is RECORDS["gacarafe"].arguments["up_kernel"]
    assert params["td/gacarafe/up_kernel"].default == RECORDS["gacarafe"].defaults["up_kernel"]
