"""Attention primitives shared by the node operations.

* :func:`similarity_attention` — A²-FPN's CF(X, Y, d) (main paper Sec. 3.1, supplement Eq. 6) and
  the dot-product / scaled dot-product ablations of the supplement's Table 1.
* :func:`mixture_of_softmaxes` — FPT's F_mos (Zhang et al., ECCV 2020, Eq. 2) with dot-product or
  Euclidean similarity (Eq. 3 / GT).

Tensors are token-major: queries (B, Lq, d), keys (B, Lk, d), values (B, Lk, dv). All fast paths go
through ``F.scaled_dot_product_attention`` so that PyTorch picks a memory-efficient kernel.
"""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

Similarity = Literal["scaled_cosine", "dot", "scaled_dot"]
SIMILARITIES = ("scaled_cosine", "dot", "scaled_dot")


def similarity_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                         similarity: Similarity = "scaled_cosine") -> torch.Tensor:
    """softmax over keys of sim(q, k), applied to ``v``.

    ``scaled_cosine``: √d · Norm(q)·Norm(k) (A²-FPN supplement Eq. 6, Norm = L2 over channels);
    ``dot``: q·k (non-local networks); ``scaled_dot``: q·k/√d (Transformer).
    """
    d = q.shape[-1]
    if similarity == "scaled_cosine":
        q, k, scale = F.normalize(q, dim=-1), F.normalize(k, dim=-1), math.sqrt(d)
    elif similarity == "dot":
        scale = 1.0
    elif similarity == "scaled_dot":
        scale = 1.0 / math.sqrt(d)
    else:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
    return F.scaled_dot_product_attention(q, k, v, scale=scale)


def split_parts(x: torch.Tensor, num_parts: int) -> torch.Tensor:
    """(B, L, d) → (B, N, L, d/N): FPT splits queries and keys along channels into N parts."""
    b, length, d = x.shape
    if d % num_parts:
        raise ValueError(f"channels {d} are not divisible by the {num_parts} mixture parts")
    return x.reshape(b, length, num_parts, d // num_parts).transpose(1, 2)


def euclidean_as_dot(q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment q, k so that q'·k' = 2q·k − ‖k‖², i.e. −‖q−k‖² up to a per-query constant.

    The dropped −‖q‖² term is constant over keys and cancels in the softmax (FPT GT, F_eud).
    """
    ones = torch.ones_like(q[..., :1])
    return torch.cat([q, ones], -1), torch.cat([2 * k, -(k * k).sum(-1, keepdim=True)], -1)


def mos_logits(q: torch.Tensor, k: torch.Tensor, num_parts: int, euclidean: bool, scale: float) -> torch.Tensor:
    """Literal per-part similarity logits s^n_ij (B, N, Lq, Lk), for analysis and reference checks."""
    qp, kp = split_parts(q, num_parts), split_parts(k, num_parts)
    sim = -torch.cdist(qp, kp).pow(2) if euclidean else qp @ kp.transpose(-1, -2)
    return sim * scale


def mixture_weights(q: torch.Tensor, k: torch.Tensor, prior: torch.Tensor, num_parts: int,
                    euclidean: bool, scale: float) -> torch.Tensor:
    """w_ij = Σ_n π_n softmax_j(s^n_ij) (FPT Eq. 2), as an explicit (B, Lq, Lk) matrix."""
    per_part = mos_logits(q, k, num_parts, euclidean, scale).softmax(-1)
    return torch.einsum("bn,bnij->bij", prior, per_part)


def mixture_of_softmaxes(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, prior: torch.Tensor,
                         num_parts: int, euclidean: bool, scale: float, dropout: float = 0.0) -> torch.Tensor:
    """FPT's F_mos applied to ``v``: Σ_n π_n · softmax_j(s^n_ij) v_j, computed part by part with SDPA.

    Args:
        q, k: (B, L, d_k), split into ``num_parts`` channel groups; values (B, Lk, d_v) are not split.
        prior: π, (B, N), the softmax-gated mixture weights.
        euclidean: F_eud = −‖q−k‖² (GT) instead of the dot product (ST).
        scale: multiplies every part's logits.
    """
    qp, kp = split_parts(q, num_parts), split_parts(k, num_parts)
    if euclidean:
        qp, kp = euclidean_as_dot(qp, kp)
    values = v.unsqueeze(1).expand(-1, num_parts, -1, -1)
    out = F.scaled_dot_product_attention(qp, kp, values, dropout_p=dropout, scale=scale)
    return torch.einsum("bn,bnld->bld", prior, out)
