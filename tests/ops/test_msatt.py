"""MSSA / MSCA: the MS-Att budget, the pooling variants and Eq. 7's residual."""
import pytest
import torch

from necksearch.ops import build_op
from necksearch.ops.msatt import pooled_sizes
from tests.helpers import n_params


@pytest.mark.parametrize("name", ["mssa", "msca"])
def test_one_module_has_532_224_parameters(name):
    """components.md §4.1: ≈532 k per module (2 LN, q/k/v/out projections, DW-MLP ×2)."""
    assert n_params(build_op(name, channels=256)) == 532_224


def test_pooling_variants():
    assert pooled_sizes((208, 320), "multi", 16, 7) == [(13, 20), (7, 10)]
    assert pooled_sizes((208, 320), "single", 16, 7) == [(13, 20)]
    assert pooled_sizes((25, 38), "adaptive", 16, 7) == [(7, 7)]


def test_msca_reads_keys_from_the_source_mssa_from_the_sum():
    msca, mssa = build_op("msca", channels=8), build_op("mssa", channels=8)
    mssa.load_state_dict(msca.state_dict())
    target, source = torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4)
    assert not torch.allclose(msca(target, source), mssa(target, source))
    zero = torch.zeros_like(source)
    # with a zero coarse map MSSA attends within the target itself: MS-Att(F, F)
    torch.testing.assert_close(mssa(target, zero), msca.ms_att(target, target))


def test_eq7_residual_is_the_query_map():
    """p = f_q + MLP(f_q + Att): with the MLP's output layer zeroed, the op is the identity on F."""
    op = build_op("msca", channels=8)
    with torch.no_grad():
        op.ms_att.mlp.fc2.weight.zero_()
        op.ms_att.mlp.fc2.bias.zero_()
    target = torch.randn(2, 8, 5, 6)
    torch.testing.assert_close(op(target, torch.randn(2, 8, 3, 3)), target)


def test_pvt_style_norm_adds_one_layer_norm():
    assert n_params(build_op("mssa", channels=8, mlp_norm=True)) - n_params(build_op("mssa", channels=8)) == 16
