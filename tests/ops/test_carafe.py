"""A²-FPN's GACARAFE / GACAP and the CARAFE / CAP baselines: golden parameter counts and behaviour."""
import pytest
import torch

from necksearch.ops import build_op
from tests.helpers import n_params


@pytest.mark.parametrize("name, expected", [("gacarafe", 259_941), ("gacap", 216_666),
                                            ("carafe", 74_148), ("cap", 30_873)])
def test_parameter_counts_at_c256_match_components_md(name, expected):
    assert n_params(build_op(name, channels=256)) == expected


@pytest.mark.parametrize("name", ["gacarafe", "gacap"])
def test_gates_start_at_one_half_of_their_range(name):
    """W3 starts at zero (GCNet's last-zero init): S ≡ 2σ(0) = 1, or σ(0) = 0.5 for the Table 5 variant."""
    x = torch.randn(2, 16, 6, 6)
    for gate, start in (("2sigmoid", 1.0), ("sigmoid", 0.5)):
        torch.testing.assert_close(build_op(name, channels=8, gate=gate).attention(x), torch.full((2, 16, 1, 1), start))


@pytest.mark.parametrize("name", ["gacarafe", "gacap"])
def test_gate_variants_bound_the_channel_weights(name):
    x = torch.randn(2, 16, 6, 6)
    for gate, upper in (("2sigmoid", 2.0), ("sigmoid", 1.0)):
        op = build_op(name, channels=8, gate=gate)
        torch.nn.init.normal_(op.attention.excite.weight, std=2.0)  # as after training: gates away from 1
        s = op.attention(x)
        assert s.shape == (2, 16, 1, 1)
        assert (s > 0).all() and (s < upper).all()
        assert s.max() > upper / 2  # 2σ really reaches above 1 somewhere / σ above 0.5


def test_gacarafe_with_uniform_kernels_and_unit_gates_is_a_box_filtered_upsample_plus_target():
    """Sanity of the wiring: zero encoder → uniform 1/25 kernels; the output is S_src·box5(up) + S_tgt·target."""
    op = build_op("gacarafe", channels=4).double()
    torch.nn.init.zeros_(op.encoder[-1].weight)
    source, target = torch.randn(1, 4, 3, 3, dtype=torch.float64), torch.randn(1, 4, 6, 6, dtype=torch.float64)
    s = op.attention(torch.cat([source, torch.nn.functional.max_pool2d(target, 2)], 1))
    box = torch.nn.functional.avg_pool2d(source, 5, 1, 2, count_include_pad=True)
    expected = s[:, :4] * box.repeat_interleave(2, -1).repeat_interleave(2, -2) + s[:, 4:] * target
    torch.testing.assert_close(op(target, source), expected)


def test_gacarafe_rejects_a_source_that_does_not_match_the_pooled_target():
    with pytest.raises(ValueError, match="pooled by 2"):
        build_op("gacarafe", channels=4)(torch.randn(1, 4, 8, 8), torch.randn(1, 4, 3, 3))


def test_gacap_pairs_the_first_gate_half_with_the_target_as_eq_13():
    """P_i^bu = Ŝ ⊙ P_i^td + Š ⊙ CAP(P_{i-1}^bu): with uniform kernels CAP is a 5×5 box filter at stride 2."""
    op = build_op("gacap", channels=4).double()
    torch.nn.init.zeros_(op.encoder[-1].weight)
    torch.nn.init.normal_(op.attention.excite.weight)
    source, target = torch.randn(1, 4, 6, 6, dtype=torch.float64), torch.randn(1, 4, 3, 3, dtype=torch.float64)
    upsampled = torch.nn.functional.interpolate(target, size=(6, 6), mode="bilinear", align_corners=False)
    s = op.attention(torch.cat([source, upsampled], 1))
    box = torch.nn.functional.avg_pool2d(source, 5, 2, 2, count_include_pad=True)
    torch.testing.assert_close(op(target, source), s[:, :4] * target + s[:, 4:] * box)
