"""AugFPN's RFA and SRS fusion: golden parameter counts and the ratio-invariant pooling."""
import pytest
import torch

from necksearch.ops import build_op
from tests.helpers import n_params


def test_srs_fusion_has_271_620_parameters():
    """AugFPN reports 0.27 M; ASF = 1024·256 + 256 + 256·4·9 + 4."""
    assert n_params(build_op("srs", channels=256, num_levels=4)) == 271_620


def test_rfa_on_c5_has_1_777_411_parameters():
    """components.md §8.3: RFA ≈ 1.777 M = 3 × (2048·256 + 256) + (768·256 + 256) + (256·3·9 + 3)."""
    assert n_params(build_op("rfa", in_channels=2048, out_channels=256)) == 1_777_411


def test_rfa_pools_each_ratio_keeping_the_aspect_ratio(monkeypatch):
    seen = []
    original = torch.nn.functional.adaptive_avg_pool2d

    def spy(x, size):
        seen.append(tuple(size))
        return original(x, size)

    monkeypatch.setattr(torch.nn.functional, "adaptive_avg_pool2d", spy)
    out = build_op("rfa", in_channels=16, out_channels=8)(torch.randn(1, 16, 26, 40))
    assert seen == [(2, 4), (5, 8), (7, 12)]
    assert out.shape == (1, 8, 26, 40)


def test_rfa_sum_fusion_is_the_plain_sum_of_the_contexts():
    op = build_op("rfa", in_channels=16, out_channels=8, fusion="sum")
    assert op.fusion is None
    assert n_params(op) == 3 * (16 * 8 + 8)


def test_srs_weights_each_level_independently():
    """ASF weights are sigmoids (not a softmax): identical inputs give out = (Σ_l w_l) · roi."""
    op = build_op("srs", channels=4, num_levels=4)
    roi = torch.randn(3, 4, 7, 7)
    out = op([roi] * 4)
    weights = torch.sigmoid(op.fusion.weights(torch.relu(op.fusion.squeeze(torch.cat([roi] * 4, 1)))))
    torch.testing.assert_close(out, weights.sum(1, keepdim=True) * roi)
    assert not torch.allclose(weights.sum(1), torch.ones(3, 7, 7))


def test_srs_rejects_the_wrong_number_of_levels():
    with pytest.raises(ValueError, match="4 levels, got 3"):
        build_op("srs", channels=4)([torch.randn(1, 4, 7, 7)] * 3)
