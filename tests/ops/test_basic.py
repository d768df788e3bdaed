"""FPN/PAFPN building blocks, concat and DropBlock."""
import pytest
import torch
import torch.nn.functional as F

from necksearch.ops import build_op


def test_sum_is_fpn_nearest_top_down_at_explicit_size():
    fine, coarse = torch.randn(1, 4, 25, 38), torch.randn(1, 4, 13, 19)
    expected = fine + F.interpolate(coarse, size=(25, 38), mode="nearest")
    torch.testing.assert_close(build_op("sum", channels=4)(fine, coarse), expected)


def test_sum_takes_several_sources_and_pools_finer_ones():
    target, coarse, fine = torch.randn(1, 2, 4, 4), torch.randn(1, 2, 2, 2), torch.randn(1, 2, 8, 8)
    out = build_op("sum", channels=2, mode="bilinear")(target, coarse, fine)
    expected = target + F.interpolate(coarse, size=(4, 4), mode="bilinear") + F.max_pool2d(fine, 2)
    torch.testing.assert_close(out, expected)


def test_concat_checks_its_arity_and_fuses_with_one_conv():
    op = build_op("concat", channels=4, num_inputs=3, kernel_size=3)
    assert op.conv.in_channels == 12 and op.conv.kernel_size == (3, 3)
    assert op(torch.randn(1, 4, 6, 6), torch.randn(1, 4, 3, 3), torch.randn(1, 4, 12, 12)).shape == (1, 4, 6, 6)
    with pytest.raises(ValueError, match="3 inputs, got 2"):
        op(torch.randn(1, 4, 6, 6), torch.randn(1, 4, 3, 3))


def test_strided_conv_sum_is_pafpn_bottom_up():
    op = build_op("strided_conv_sum", channels=4)
    target, source = torch.randn(1, 4, 13, 19), torch.randn(1, 4, 25, 38)
    torch.testing.assert_close(op(target, source), target + F.conv2d(source, op.conv.weight, op.conv.bias, 2, 1))


def test_dropblock_drops_in_training_only_and_fits_small_maps():
    op = build_op("dropblock", channels=4, drop_prob=0.5)
    x = torch.ones(2, 4, 32, 32)
    dropped = op(x)
    assert (dropped == 0).any() and dropped.mean().item() == pytest.approx(1.0, abs=0.25)
    op.eval()
    assert torch.equal(op(x), x)
    op.train()
    assert op(torch.ones(1, 4, 2, 3)).shape == (1, 4, 2, 3)  # block 5 shrinks to 1 on a 2×3 map
