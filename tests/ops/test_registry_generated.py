"""Generated from the registry: every operation is built and exercised the way its slot promises."""
from __future__ import annotations

import pytest
import torch

from necksearch.catalogue.slot import SLOTS
from necksearch.ops import build_op, get_op, list_ops
from necksearch.ops.slots import make_example, output_shape
from necksearch.errors import NeckSearchError
from tests.helpers import wake_zero_inits

ALL = [spec.name for spec in list_ops()]
FUSIONS = [spec.name for spec in list_ops() if spec.slot in ("up", "down")]


#: Hyper-parameters that keep the float64 gradcheck instances tiny (it costs 2 forwards per input element).
TINY = {"mgc_context": {"entities": (4, 3, 2, 2)}}


def build(name, *, channels=8, image_hw=(64, 96), batch=2, level=3, scale_levels=1, dtype=torch.float32,
          num_rois=8, roi_size=7, overrides=None):
    spec = get_op(name)
    g = torch.Generator().manual_seed(1)
    level = {"up": min(level, 4), "down": max(level, 3)}.get(spec.slot, level)
    kwargs, inputs = make_example(spec, channels=channels, image_hw=image_hw, batch=batch, level=level,
                                  scale_levels=scale_levels, dtype=dtype, generator=g, num_rois=num_rois,
                                  roi_size=roi_size)
    module = spec.cls(**kwargs, **(overrides or {})).to(dtype)
    return spec, module, kwargs, inputs


def expected_shape(spec, module, inputs, kwargs):
    if spec.slot == "context":
        return [inputs[0][0].shape[0], kwargs["context_channels"], module.num_tokens]
    return output_shape(spec, inputs, kwargs)


def tensors_of(inputs):
    flat = []
    for item in inputs:
        flat.extend(item if isinstance(item, list) else [item])
    return flat


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("batch", [1, 3])
def test_shape_finite_and_every_parameter_gets_a_gradient(name, batch):
    spec, module, kwargs, inputs = build(name, batch=batch)
    wake_zero_inits(module)
    flat = [t.requires_grad_() for t in tensors_of(inputs)]
    out = module(*inputs)
    assert list(out.shape) == expected_shape(spec, module, inputs, kwargs)
    assert torch.isfinite(out).all()
    (out * torch.randn_like(out)).sum().backward()
    named = [*module.named_parameters(), *((f"input {i}", t) for i, t in enumerate(flat))]
    for pname, p in named:
        assert p.grad is not None, f"{name}: {pname} got no gradient"
        assert p.grad.abs().sum() > 0, f"{name}: {pname} got an all-zero gradient"


@pytest.mark.parametrize("name", ALL)
def test_odd_sizes(name):
    """A 25×38 level with its 13×19 neighbour (image 100×152)."""
    spec, module, kwargs, inputs = build(name, image_hw=(100, 152), level=2 if get_op(name).slot != "down" else 3)
    out = module(*inputs)
    assert list(out.shape) == expected_shape(spec, module, inputs, kwargs)
    if spec.slot in ("up", "unary", "lateral", "distribute"):
        assert tuple(out.shape[-2:]) == (25, 38)
    if spec.slot == "down":
        assert tuple(out.shape[-2:]) == (13, 19)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", FUSIONS)
def test_non_adjacent_levels_at_odd_sizes(name):
    """Fusion across two levels (×4): P2 (25×38) with P4 (7×10), or P4 with P2."""
    spec, module, kwargs, inputs = build(name, image_hw=(100, 152), level=2 if spec_slot(name) == "up" else 4,
                                         scale_levels=2)
    target, source = inputs
    assert target.shape[-1] != source.shape[-1]
    out = module(*inputs)
    assert out.shape == target.shape
    assert torch.isfinite(out).all()


def spec_slot(name):
    return get_op(name).slot


@pytest.mark.parametrize("name", ALL)
def test_float64_gradcheck(name):
    spec, module, kwargs, inputs = build(name, channels=4, image_hw=(16, 24), batch=1, dtype=torch.float64,
                                         num_rois=2, roi_size=3, overrides=TINY.get(name))
    flat = [t.requires_grad_() for t in tensors_of(inputs)]

    def run(*tensors):
        it = iter(tensors)
        rebuilt = [[next(it) for _ in item] if isinstance(item, list) else next(it) for item in inputs]
        with torch.random.fork_rng():  # stochastic ops (DropBlock) draw the same mask every call
            torch.manual_seed(0)
            return module(*rebuilt)

    assert torch.autograd.gradcheck(run, flat, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_every_op_has_a_known_slot_and_paper():
    for spec in list_ops():
        assert spec.slot in SLOTS
        assert spec.paper and spec.summary


def test_unknown_op_and_argument_are_named():
    with pytest.raises(NeckSearchError, match="'gacarafee'"):
        get_op("gacarafee")
    with pytest.raises(NeckSearchError, match="k_upp"):
        build_op("gacarafe", channels=8, k_upp=3)


@pytest.mark.parametrize("name, bad", [("gacarafe", {"gate": "tanh"}), ("gacap", {"scale": 3}),
                                       ("sum", {"mode": "cubic"}), ("st", {"scale_mode": "x"}),
                                       ("mssa", {"pooling": "max"}), ("dropblock", {"drop_prob": 1.5})])
def test_bad_hyper_parameters_raise_value_errors_naming_them(name, bad):
    key, value = next(iter(bad.items()))
    with pytest.raises(ValueError, match=repr(value) if isinstance(value, str) else str(value)):
        build_op(name, channels=8, **bad)
