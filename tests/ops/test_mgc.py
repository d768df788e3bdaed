"""A²-FPN's MGC: golden parameter budgets, the orthogonal regulariser, and the two W_o forms."""
import pytest
import torch

from necksearch.ops import build_op
from necksearch.ops.mgc import ENTITY_SETTINGS
from tests.helpers import n_params

BACKBONE = [256, 512, 1024, 2048]


def mgc_params(context_channels, entities):
    context = build_op("mgc_context", in_channels=BACKBONE, context_channels=context_channels, entities=entities)
    distributors = [build_op("mgc", in_channels=c, out_channels=256, context_channels=context_channels) for c in BACKBONE]
    return n_params(context) + sum(n_params(d) for d in distributors)


def test_full_mgc_budget_is_4_135_m():
    """components.md §8.1: MGC 4.135 M (laterals W_ξ included), the reading that gives A²-FPN's +13.31 M."""
    assert mgc_params(256, ENTITY_SETTINGS["64(6-i)"]) == 4_134_784


def test_lite_mgc_budget_is_2_437_m():
    """A²-FPN-Lite: context width 128, n_i = 32(6−i), pyramid width 256 (components.md §2.4)."""
    assert mgc_params(128, ENTITY_SETTINGS["32(6-i)"]) == 2_437_056


def test_without_gcn_drops_exactly_the_five_gcns():
    with_gcn = build_op("mgc_context", in_channels=BACKBONE)
    without = build_op("mgc_context", in_channels=BACKBONE, gcn=False)
    per_gcn = 2 * (256 * 64 + 64) + 256 * 256 + 256
    assert n_params(with_gcn) - n_params(without) == 5 * per_gcn


def test_context_has_one_token_per_entity():
    op = build_op("mgc_context", in_channels=[8, 16, 32, 64], context_channels=8, entities=ENTITY_SETTINGS["160"])
    feats = [torch.randn(2, c, s, s) for c, s in zip([8, 16, 32, 64], [16, 8, 4, 2])]
    assert op(feats).shape == (2, 8, 640)


def test_orthogonal_loss_starts_at_zero_and_grows_when_prototypes_correlate():
    op = build_op("mgc_context", in_channels=BACKBONE)
    assert op.orthogonal_loss().item() == pytest.approx(0.0, abs=1e-6)
    with torch.no_grad():
        op.prototypes[0].weight[1] = op.prototypes[0].weight[0]
    assert op.orthogonal_loss().item() == pytest.approx(2.0, rel=1e-4)  # two off-diagonal 1s


def test_dot_product_variant_counts_off_diagonal_terms_only():
    """Supplement Eq. 7: without the norm restriction, scaling a prototype costs nothing."""
    op = build_op("mgc_context", in_channels=BACKBONE, similarity="dot")
    with torch.no_grad():
        op.prototypes[2].weight[0] *= 3.0
    assert op.orthogonal_loss().item() == pytest.approx(0.0, abs=1e-6)
    cosine = build_op("mgc_context", in_channels=BACKBONE)
    with torch.no_grad():
        cosine.prototypes[2].weight[0] *= 3.0
    assert cosine.orthogonal_loss().item() == pytest.approx(64.0, rel=1e-4)  # (9 − 1)²


def test_orthogonal_loss_is_differentiable():
    op = build_op("mgc_context", in_channels=[8, 16], entities=(8, 16))
    with torch.no_grad():
        op.prototypes[0].weight.add_(0.1)
    op.orthogonal_loss().backward()
    assert op.prototypes[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("similarity", ["scaled_cosine", "dot", "scaled_dot"])
def test_projection_before_or_after_aggregation_is_the_same_function(similarity):
    cheap = build_op("mgc", in_channels=16, out_channels=8, context_channels=12, similarity=similarity).double()
    per_pixel = build_op("mgc", in_channels=16, out_channels=8, context_channels=12, similarity=similarity,
                         project_after_aggregation=True).double()
    per_pixel.load_state_dict(cheap.state_dict())
    x, ctx = torch.randn(2, 16, 5, 7, dtype=torch.float64), torch.randn(2, 12, 30, dtype=torch.float64)
    torch.testing.assert_close(cheap(x, ctx), per_pixel(x, ctx))


def test_entities_must_match_levels():
    with pytest.raises(ValueError, match="one n_i per input level"):
        build_op("mgc_context", in_channels=[8, 16, 32], entities=(4, 4))
