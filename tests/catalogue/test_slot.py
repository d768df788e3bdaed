"""The Slot objects (torch-free) own each slot's convention; these check the parts a graph node relies on."""
from types import SimpleNamespace

import pytest

from necksearch.ops import list_ops
from necksearch.catalogue.slot import ARG_SOURCES, SLOTS


def shape(channels, scale=None):
    return SimpleNamespace(channels=channels, scale=scale)


def test_every_structural_argument_has_a_source_and_every_op_takes_its_slots_arguments():
    for slot in SLOTS.values():
        assert all(source in ARG_SOURCES for _, source in slot.structural), slot.name
    for spec in list_ops():
        required = [name for name in SLOTS[spec.slot].structural_args if name != "scale"]
        assert all(spec.accepts(name) for name in required), spec.name


def test_structural_arguments_come_from_the_shapes():
    distribute = SLOTS["distribute"].structural_kwargs(shape(64), [shape(512), shape(128)], lambda name: True)
    assert distribute == {"in_channels": 512, "out_channels": 64, "context_channels": 128}
    context = SLOTS["context"].structural_kwargs(shape(32), [shape(w) for w in (24, 40, 112, 320)], lambda n: True)
    assert context == {"in_channels": [24, 40, 112, 320], "context_channels": 32}


def test_a_fusion_gets_its_scale_only_if_it_takes_one_and_it_must_be_fixed():
    up = SLOTS["up"]
    assert up.structural_kwargs(shape(64, 4), [shape(64), shape(64)], lambda name: True) == {"channels": 64, "scale": 4}
    assert up.structural_kwargs(shape(64, None), [shape(64), shape(64)], lambda name: name != "scale") == {"channels": 64}
    with pytest.raises(ValueError, match="fixed number of levels"):
        up.structural_kwargs(shape(64, None), [shape(64), shape(64)], lambda name: True)


def test_a_context_op_takes_its_inputs_as_one_list_the_others_as_arguments():
    assert SLOTS["context"].call(lambda maps: maps, ["a", "b"]) == ["a", "b"]
    assert SLOTS["up"].call(lambda target, source: (source, target), ["t", "s"]) == ("s", "t")


def test_only_roi_is_no_graph_node():
    assert [name for name, slot in SLOTS.items() if not slot.is_node] == ["roi"]
