"""The space's torch-free tables agree with the operation registry (this test imports torch)."""
import pytest

from necksearch.graph.catalogue import OP_DEFAULTS
from necksearch.ops import get_op, list_ops
from necksearch.ops.attention import SIMILARITIES
from necksearch.ops.carafe import GATES
from necksearch.ops.fpt import PRIOR_SOURCES, SCALE_MODES
from necksearch.ops.msatt import POOLINGS
from necksearch.ops.resize import UP_MODES
from necksearch.space.kinds import ARG_KINDS, STRING_CHOICES
from necksearch.space.templates import BU_OPS, TD_OPS


def test_string_choices_equal_the_ops_own_tuples():
    assert STRING_CHOICES == {"gate": GATES, "mode": UP_MODES, "similarity": SIMILARITIES, "pooling": POOLINGS,
                              "scale_mode": SCALE_MODES, "prior_from": PRIOR_SOURCES, "fusion": ("asf", "sum")}
    for fusion in STRING_CHOICES["fusion"]:
        get_op("rfa").cls(in_channels=8, out_channels=4, fusion=fusion)
    with pytest.raises(ValueError):
        get_op("rfa").cls(in_channels=8, out_channels=4, fusion="max")


@pytest.mark.parametrize("op", sorted(OP_DEFAULTS))
def test_every_default_is_of_its_kind(op):
    for arg, default in OP_DEFAULTS[op].items():
        assert ARG_KINDS[op][arg].problem(default) is None, (op, arg)
        assert ARG_KINDS[op][arg].problem("not a value") is not None, (op, arg)


def test_the_pyramid_template_offers_every_registered_fusion():
    slots = {spec.name: spec.slot for spec in list_ops()}
    assert set(TD_OPS) == {op for op, slot in slots.items() if slot == "up"}
    assert set(BU_OPS) - {"none"} == {op for op, slot in slots.items() if slot == "down"}
