"""Every preset builds as a GraphNeck: parameter budgets at full width (components.md §8) and, at a
small width, forward at two image sizes (one not divisible by 64), backward, and a gradient for every
parameter."""
import math

import pytest
import torch

from necksearch.graph.presets import list_presets
from necksearch.nn import GraphNeck
from necksearch.ops.carafe import GatedChannelAttention
from necksearch.ops.fpt import GroundingTransformer, SelfTransformer
from necksearch.ops.mgc import GraphReasoning
from tests.helpers import n_params, wake_zero_inits

FPN_PARAMS = 3_344_384
SMALL_WIDTHS = [16, 32, 64, 128]
SMALL_CHANNELS = 16
IMAGES = [(128, 192), (100, 152)]   # the second is not a multiple of 64 (nor of 32)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: intra-op threads only add overhead (and on a shared 2-core machine, a lot)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def full(name):
    """Parameters at full width: ResNet-50 inputs, c = 256 (GraphNeck's defaults)."""
    return n_params(GraphNeck(name))


def test_fpn_budget_is_mmdet_fpn():
    assert full("fpn") == FPN_PARAMS


@pytest.mark.parametrize("name, delta", [
    ("pafpn", 3_540_480),                                # components.md §1.2: 6 convs
    ("augfpn", 1_777_411),                               # §5.2 / §8.3: RFA only; CS and SRS live in the detector
    ("augfpn_rfa", 1_777_411),
    ("augfpn_cs_srs", 0),
    ("fpn_concat", 3 * 131_328),                         # §1.3: one 1×1 2c→c per fusion
    ("fpn_carafe", 4 * 74_148 + (2048 * 9 * 256 + 256) + (256 * 9 * 256 + 256)),   # §2.8: 4 CARAFE, E6, 5th conv
])
def test_exact_budget_over_fpn(name, delta):
    assert full(name) - FPN_PARAMS == delta


@pytest.mark.parametrize("name, paper_delta", [("a2fpn", 13.31e6), ("a2fpn_lite", 4.65e6)])
def test_a2fpn_budget_matches_table_6(name, paper_delta):
    """A²-FPN Table 6: +13.31 M (full) and +4.65 M (Lite) over FPN; components.md gives 13.316 M / 4.653 M."""
    delta = full(name) - FPN_PARAMS
    assert abs(delta - paper_delta) <= 0.005 * paper_delta, delta


@pytest.mark.parametrize("name, delta", [
    ("a2fpn_gacarafe", 3 * 259_941),                     # §8.1 unit costs: GACARAFE step
    ("a2fpn_gacap", 3 * (216_666 - 590_080)),            # GACAP step replaces a strided 3×3 conv
    ("a2fpn_carafe", 3 * 74_148),
    ("a2fpn_cap", 3 * (30_873 - 590_080)),
])
def test_a2fpn_ablation_budgets_over_pafpn(name, delta):
    assert full(name) - full("pafpn") == delta


def backbone_maps(image_hw, widths=SMALL_WIDTHS):
    """Backbone levels 2..5 of an image: ceil(H / 2^k) × ceil(W / 2^k)."""
    return [torch.randn(1, c, math.ceil(image_hw[0] / 2 ** k), math.ceil(image_hw[1] / 2 ** k))
            for c, k in zip(widths, range(2, 6))]


def dead_by_construction(neck):
    """Parameters whose gradient is exactly zero in exact arithmetic (float round-off aside).

    * GACARAFE/GACAP channel attention: the bias of the 1×1 conv whose output is softmaxed over
      positions (GCNet's conv_mask) shifts every logit equally — softmax ignores it.
    * MGC GCN key bias under dot-product similarities: it adds q·b to every logit of a query's softmax
      over keys (with cosine similarity the keys are normalised first, so the bias is live).
    * ST / GT value bias in training mode: attention weights sum to 1, so the bias becomes a constant
      map that the output BatchNorm's batch mean removes.
    """
    dead = set()
    for prefix, module in neck.named_modules():
        if isinstance(module, GatedChannelAttention):
            dead.add(f"{prefix}.pool_logits.bias")
        elif isinstance(module, GraphReasoning) and module.similarity in ("dot", "scaled_dot"):
            dead.add(f"{prefix}.key.bias")
        elif isinstance(module, (SelfTransformer, GroundingTransformer)) and neck.training:
            dead.add(f"{prefix}.value.bias")
    return dead


@pytest.mark.parametrize("name", list_presets())
def test_preset_runs_forward_and_backward_at_a_small_width(name):
    torch.manual_seed(0)
    neck = GraphNeck(name, in_channels=SMALL_WIDTHS, out_channels=SMALL_CHANNELS).train()
    wake_zero_inits(neck)
    levels = [neck.shapes[output].level for output in neck.graph.outputs]
    dead = dead_by_construction(neck)
    params = {key: p for key, p in neck.named_parameters() if key not in dead}
    assert params and dead <= set(dict(neck.named_parameters()))
    for image_hw in IMAGES:
        neck.zero_grad(set_to_none=True)
        outs = neck(backbone_maps(image_hw))
        assert len(outs) == len(levels) == 5
        for out, level in zip(outs, levels):
            expected = (1, SMALL_CHANNELS, math.ceil(image_hw[0] / 2 ** level), math.ceil(image_hw[1] / 2 ** level))
            assert tuple(out.shape) == expected, (name, image_hw, level)
            assert torch.isfinite(out).all()
        loss = sum((out * torch.randn_like(out)).sum() for out in outs)
        loss.backward()
        no_grad = [key for key, p in params.items() if p.grad is None or not torch.any(p.grad != 0)]
        assert not no_grad, f"{name} at {image_hw}: no gradient for {no_grad}"
        assert all(torch.isfinite(p.grad).all() for p in params.values())
