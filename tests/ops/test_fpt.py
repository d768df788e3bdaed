"""FPT's ST, GT, LGT and RT: structure, the code-vs-paper flags and LGT's locality."""
import math

import pytest
import torch

from necksearch.ops import build_op
from necksearch.ops.fpt import tokens
from tests.helpers import n_params


def test_scale_modes_follow_paper_and_code():
    assert build_op("st", channels=256).prior.logit_scale == pytest.approx(1 / math.sqrt(128))
    assert build_op("st", channels=256, scale_mode="full").prior.logit_scale == pytest.approx(1 / 16)


def test_prior_from_query_or_key():
    st = build_op("st", channels=8)
    q, k = torch.randn(2, 10, 8), torch.randn(2, 5, 8)
    torch.testing.assert_close(st.prior(q, k), st.prior.weights(k.mean(1)).softmax(-1))
    st_code = build_op("st", channels=8, prior_from="query")
    st_code.load_state_dict(st.state_dict())
    torch.testing.assert_close(st_code.prior(q, k), st.prior.weights(q.mean(1)).softmax(-1))


def test_st_key_value_pooling_changes_the_function_not_the_parameters():
    pooled, full = (build_op("st", channels=8, kv_pool=pool, zero_init=False) for pool in (True, False))
    full.load_state_dict(pooled.state_dict())
    x = torch.randn(1, 8, 12, 10)
    assert n_params(pooled) == n_params(full)
    assert not torch.allclose(pooled(x), full(x))


def test_gt_reduction_sets_key_width():
    assert build_op("gt", channels=256, reduction=2).query.out_channels == 128


def test_lgt_is_local_a_far_coarse_cell_does_not_change_a_query_outside_its_window():
    lgt = build_op("lgt", channels=8, window=3, zero_init=False).eval()
    fine, coarse = torch.randn(1, 8, 16, 16), torch.randn(1, 8, 8, 8)
    base = lgt(fine, coarse)
    moved = coarse.clone()
    moved[..., 7, 7] += 5.0  # far from fine pixel (0, 0), whose window is coarse rows/cols 0..1
    changed = lgt(fine, moved)
    # the mixture prior uses the global mean key, so compare with the prior held fixed
    with torch.no_grad():
        lgt.prior.weights.weight.zero_()
    base, changed = lgt(fine, coarse), lgt(fine, moved)
    torch.testing.assert_close(changed[..., 0, 0], base[..., 0, 0])
    assert not torch.allclose(changed[..., 15, 15], base[..., 15, 15])


def test_lgt_with_window_covering_the_map_matches_gt_plus_zero_keys():
    """With every coarse cell in every window, LGT = GT over the coarse keys plus (w² − h·w) zero keys."""
    gt = build_op("gt", channels=4, num_parts=1, zero_init=False).double().eval()
    lgt = build_op("lgt", channels=4, num_parts=1, window=5, zero_init=False).double().eval()
    lgt.load_state_dict(gt.state_dict())
    fine, coarse = torch.randn(1, 4, 2, 2, dtype=torch.float64), torch.randn(1, 4, 1, 1, dtype=torch.float64)
    q, k, v = tokens(gt.query(fine)), tokens(gt.key(coarse)), tokens(gt.value(coarse))
    logits = torch.cat([-((q[:, :, None] - k[:, None]) ** 2).sum(-1), -(q ** 2).sum(-1, keepdim=True).expand(-1, -1, 24)], -1)
    weights = (logits * gt.prior.logit_scale).softmax(-1)
    values = torch.cat([v, torch.zeros(1, 24, 4, dtype=torch.float64)], 1)
    expected = gt.out((weights @ values).transpose(1, 2).reshape(1, 4, 2, 2))
    torch.testing.assert_close(lgt(fine, coarse), expected)


def test_rt_strides_by_the_level_ratio():
    rt = build_op("rt", channels=8, scale=4)
    assert rt.value_conv[0].stride == (4, 4)
    assert rt(torch.randn(1, 8, 7, 10), torch.randn(1, 8, 25, 38)).shape == (1, 8, 7, 10)


def rms(x):
    return float(x.pow(2).mean().sqrt())


def test_rt_output_scale_does_not_follow_its_inputs_scale():
    """Issue 22: unnormalised, RT's output grows with the square of its inputs' scale (Q ⊙ GAP(K)), and on the proxy
    the fused P4-P6 ran away to RMS 40-125 while every GT/ST output stays at 1; with BN after each conv (the paper's
    SBN, Table 2; the released code's BN) a 10× larger pyramid gives the same output scale."""
    torch.manual_seed(0)
    rt = build_op("rt", channels=16).train()
    # laterals have channel means far from 0 (GAP(K) spans -9...+9 on the proxy), so the Q ⊙ GAP(K) term counts
    q, k = torch.randn(4, 16, 6, 6), torch.randn(4, 16, 12, 12) + 3 * torch.randn(1, 16, 1, 1)
    assert rms(rt(10 * q, 10 * k)) == pytest.approx(rms(rt(q, k)), rel=0.05)
    literal = build_op("rt", channels=16, norm=False).train()
    assert rms(literal(10 * q, 10 * k)) > 50 * rms(literal(q, k))


def test_rt_without_norm_is_eq6_literally():
    rt = build_op("rt", channels=8, norm=False).double()
    q, k = torch.randn(2, 8, 5, 5, dtype=torch.float64), torch.randn(2, 8, 10, 10, dtype=torch.float64)
    gap = k.mean(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(rt(q, k), rt.out(rt.query_conv(q * gap) + rt.value_conv(k)))


def test_rt_gap_transform_adds_the_code_s_1x1_bn():
    assert n_params(build_op("rt", channels=8, gap_transform=True)) - n_params(build_op("rt", channels=8)) == 8 * 8 + 8 + 16


def test_st_outputs_the_transform_alone_as_the_paper_and_adds_x_with_the_code_flag():
    """FPT concatenates ST's X̂ with X (Sec. 4); the released code's ACF module returns X + BN(W X̂)."""
    paper, code = (build_op("st", channels=8, residual=flag, zero_init=False).eval() for flag in (False, True))
    code.load_state_dict(paper.state_dict())
    x = torch.randn(1, 8, 6, 6)
    torch.testing.assert_close(code(x), x + paper(x))
    assert n_params(paper) == n_params(code)


@pytest.mark.parametrize("op, args", [("st", {}), ("gt", {}), ("lgt", {"scale": 2})])
def test_zero_init_starts_the_transform_at_zero_and_it_still_learns(op, args):
    """``zero_init`` is the released code's W_z init (γ = β = 0): ST and GT add nothing until trained."""
    module = build_op(op, channels=8, zero_init=True, **args).train()
    inputs = (torch.randn(2, 8, 8, 8),) if op == "st" else (torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4))
    out = module(*inputs)
    assert not out.any()
    (out - torch.randn_like(out)).pow(2).sum().backward()
    assert module.out[1].weight.grad.abs().sum() > 1e-2  # γ learns; what feeds it does once γ has moved


@pytest.mark.parametrize("op", ["gt", "lgt"])
def test_a_top_down_gt_step_is_not_silent_by_default(op):
    """GT/LGT as a pyramid's top-down step return the transform alone, so a zero-initialised output would start
    that level at 0 with no gradient to its lateral: the default keeps PyTorch's γ = 1."""
    module = build_op(op, channels=8, **({"scale": 2} if op == "lgt" else {})).train()
    target = torch.randn(2, 8, 8, 8, requires_grad=True)
    out = module(target, torch.randn(2, 8, 4, 4))
    assert out.pow(2).mean() > 0.5
    (out * torch.randn_like(out)).sum().backward()
    assert target.grad.abs().sum() > 0


def test_rt_s_pooled_key_transform_trains_on_a_batch_of_one():
    """The last batch of an epoch can hold one image (233 tree tiles at batch 4): the pooled key's BatchNorm then
    normalises with its running statistics and leaves them unchanged instead of raising."""
    module = build_op("rt", channels=8, scale=2, gap_transform=True).train()
    norm = module.gap[1]
    module(torch.randn(4, 8, 4, 4), torch.randn(4, 8, 8, 8))  # a full batch updates the running statistics
    before = norm.running_mean.clone(), norm.running_var.clone()
    out = module(torch.randn(1, 8, 4, 4), torch.randn(1, 8, 8, 8))
    out.sum().backward()
    assert out.shape == (1, 8, 4, 4) and torch.isfinite(out).all()
    assert torch.equal(norm.running_mean, before[0]) and torch.equal(norm.running_var, before[1])
