"""Properties of the attention primitives (A²-FPN supplement Eq. 6; FPT Eq. 2 and F_eud)."""
import math

import pytest
import torch

from necksearch.ops import build_op
from necksearch.ops.attention import mixture_of_softmaxes, mixture_weights, similarity_attention
from necksearch.ops.fpt import tokens


def qkv(b=2, lq=7, lk=5, d=8, dv=6, dtype=torch.float64):
    return torch.randn(b, lq, d, dtype=dtype), torch.randn(b, lk, d, dtype=dtype), torch.randn(b, lk, dv, dtype=dtype)


@pytest.mark.parametrize("euclidean", [False, True])
def test_mixture_weights_sum_to_one_over_keys(euclidean):
    q, k, _ = qkv()
    prior = torch.rand(2, 4, dtype=torch.float64).softmax(-1)
    w = mixture_weights(q, k, prior, num_parts=4, euclidean=euclidean, scale=0.5)
    assert w.shape == (2, 7, 5)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 7, dtype=torch.float64))
    assert (w >= 0).all()


@pytest.mark.parametrize("euclidean", [False, True])
def test_fast_mixture_equals_explicit_weights(euclidean):
    q, k, v = qkv()
    prior = torch.rand(2, 2, dtype=torch.float64).softmax(-1)
    fast = mixture_of_softmaxes(q, k, v, prior, num_parts=2, euclidean=euclidean, scale=0.7)
    explicit = mixture_weights(q, k, prior, num_parts=2, euclidean=euclidean, scale=0.7) @ v
    torch.testing.assert_close(fast, explicit)


def test_gt_fast_form_equals_literal_negative_squared_distance_softmax():
    """GT computed through SDPA (2q·k − ‖k‖²) equals softmax(−‖q−k‖²) written out per part."""
    gt = build_op("gt", channels=8, zero_init=False).double().eval()  # a non-zero output to compare
    fine, coarse = torch.randn(2, 8, 6, 5, dtype=torch.float64), torch.randn(2, 8, 3, 3, dtype=torch.float64)
    q, k, v = tokens(gt.query(fine)), tokens(gt.key(coarse)), tokens(gt.value(coarse))
    prior = gt.prior(q, k)
    n = gt.prior.num_parts
    literal = 0
    for part, (qn, kn) in enumerate(zip(q.chunk(n, -1), k.chunk(n, -1))):
        dist2 = ((qn[:, :, None, :] - kn[:, None, :, :]) ** 2).sum(-1)
        literal = literal + prior[:, part, None, None] * (-dist2 * gt.prior.logit_scale).softmax(-1)
    expected = gt.out((literal @ v).transpose(1, 2).reshape(2, 8, 6, 5))
    torch.testing.assert_close(gt(fine, coarse), expected)


def test_scaled_cosine_is_invariant_to_positive_key_scaling_and_dot_is_not():
    q, k, v = qkv(d=16)
    scaled = k.clone()
    scaled[:, 2] *= 7.5
    base = similarity_attention(q, k, v, "scaled_cosine")
    torch.testing.assert_close(similarity_attention(q, scaled, v, "scaled_cosine"), base)
    assert not torch.allclose(similarity_attention(q, scaled, v, "dot"), similarity_attention(q, k, v, "dot"))


def test_scaled_cosine_logits_are_sqrt_d_times_cosine():
    q, k, v = qkv(lq=1, lk=2, d=16)
    cos = torch.nn.functional.cosine_similarity(q[:, :, None], k[:, None], dim=-1)
    weights = (math.sqrt(16) * cos).softmax(-1)
    torch.testing.assert_close(similarity_attention(q, k, v, "scaled_cosine"), weights @ v)
