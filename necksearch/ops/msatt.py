"""Multi-scale attention fusion: MSSA and MSCA ("Attention-based Feature Aggregation", ICLR 2022 submission).

MS-Att(Q, S) (Sec. 3, Eqs. 4-7): queries are the pixels of Q; keys and values are S average-pooled at
two scales (strides r and 2r, ``pooling='multi'``), ViT multi-head attention with pre-norm, then the
literal Eq. 7 p = f_q + DW-MLP(f_q + Att), the DW-MLP being PVTv2's Linear → depth-wise 3×3 → GELU →
Linear (the depth-wise conv doubles as positional encoding). Attention itself is PyTorch's
``nn.MultiheadAttention``.
"""
from __future__ import annotations

import math
from typing import List, Literal

import torch
import torch.nn.functional as F
from torch import nn

from necksearch.catalogue.domain import POSITIVE
from necksearch.ops.registry import register_op

PAPER = "Attention-based Feature Aggregation (ICLR 2022 submission)"
#: MSSA/MSCA hyper-parameters beyond their annotations.
ARGS = {"heads": POSITIVE, "pool_ratio": POSITIVE, "mlp_ratio": POSITIVE}
#: What a template does with them: the pool ratio is r = 64 / stride = 2^(6-l) at level l, and plays no part under
#: adaptive pooling.
RECORD_FIELDS = {"top_ratio": "pool_ratio", "unused_when": (("pool_ratio", "pooling", "adaptive"),)}
POOLINGS = ("multi", "single", "adaptive")


class DWMLP(nn.Module):
    """PVTv2 ``Mlp``: fc1 → depth-wise Conv3×3 on the 2-D map → GELU → fc2."""

    def __init__(self, channels: int, ratio: int) -> None:
        super().__init__()
        hidden = channels * ratio
        self.fc1 = nn.Linear(channels, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        hidden = self.fc1(x)
        spatial = hidden.transpose(1, 2).unflatten(2, hw)
        return self.fc2(F.gelu(self.dwconv(spatial).flatten(2).transpose(1, 2)))


def pooled_sizes(hw: tuple[int, int], pooling: str, ratio: int, adaptive_size: int) -> List[tuple[int, int]]:
    """Key/value grid sizes: strides r and 2r (multi), r (single) or a fixed grid (adaptive)."""
    if pooling == "adaptive":
        return [(adaptive_size, adaptive_size)]
    strides = (ratio, 2 * ratio) if pooling == "multi" else (ratio,)
    return [(math.ceil(hw[0] / s), math.ceil(hw[1] / s)) for s in strides]


class MSAttention(nn.Module):
    """MS-Att(Q, S): multi-scale pooled attention followed by the DW-MLP (Eqs. 5-7)."""

    def __init__(self, channels: int, heads: int, pool_ratio: int, pooling: str, mlp_ratio: int,
                 mlp_norm: bool, adaptive_size: int = 7) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if pool_ratio < 1:
            raise ValueError(f"pool_ratio must be >= 1, got {pool_ratio}")
        self.pooling, self.pool_ratio, self.adaptive_size = pooling, pool_ratio, adaptive_size
        self.query_norm, self.kv_norm = nn.LayerNorm(channels), nn.LayerNorm(channels)
        self.attention = nn.MultiheadAttention(channels, heads, batch_first=True)
        self.mlp_norm = nn.LayerNorm(channels) if mlp_norm else None
        self.mlp = DWMLP(channels, mlp_ratio)

    def pooled_tokens(self, s: torch.Tensor) -> torch.Tensor:
        """Average-pool S at every scale and concatenate the tokens: (B, n_kv, C)."""
        sizes = pooled_sizes(tuple(s.shape[-2:]), self.pooling, self.pool_ratio, self.adaptive_size)
        return torch.cat([F.adaptive_avg_pool2d(s, size).flatten(2) for size in sizes], dim=2).transpose(1, 2)

    def forward(self, query_map: torch.Tensor, kv_map: torch.Tensor) -> torch.Tensor:
        b, c, h, w = query_map.shape
        f_q = query_map.flatten(2).transpose(1, 2)
        kv = self.kv_norm(self.pooled_tokens(kv_map))
        attended, _ = self.attention(self.query_norm(f_q), kv, kv, need_weights=False)
        mixed = f_q + attended
        if self.mlp_norm is None:   # Eq. 7 literally: p = f_q + MLP(f_q + Att)
            out = f_q + self.mlp(mixed, (h, w))
        else:                       # PVTv2 block: x = f_q + Att; p = x + MLP(LN x)
            out = mixed + self.mlp(self.mlp_norm(mixed), (h, w))
        return out.transpose(1, 2).reshape(b, c, h, w)


class _MSFusion(nn.Module):
    """Shared constructor of MSSA and MSCA.

    Args:
        heads: attention heads (4, head dim 64 at c = 256).
        pool_ratio: r; the paper uses r = 64 / stride (16, 8, 4, 2 for P0..P3), set per node.
        pooling: ``multi`` (strides r and 2r, paper), ``single`` (r) or ``adaptive`` (7×7) — Table 5.
        mlp_ratio: DW-MLP expansion (2).
        mlp_norm: LayerNorm before the MLP and residual on f_q + Att (PVTv2 block) instead of Eq. 7.
    """

    def __init__(self, channels: int, heads: int = 4, pool_ratio: int = 4,
                 pooling: Literal["multi", "single", "adaptive"] = "multi", mlp_ratio: int = 2,
                 mlp_norm: bool = False) -> None:
        super().__init__()
        self.ms_att = MSAttention(channels, heads, pool_ratio, pooling, mlp_ratio, mlp_norm)

    @staticmethod
    def upsample(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Up(·): bilinear to the target's size (paper)."""
        return F.interpolate(source, size=target.shape[-2:], mode="bilinear", align_corners=False)


@register_op("mssa", slot="up", paper=PAPER + ", MSSA Eq. 3", args=ARGS, **RECORD_FIELDS)
class MSSA(_MSFusion):
    """Multi-scale self-attention fusion: R = F + Up(P_coarse); P = MS-Att(R, R)."""

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        fused = target + self.upsample(source, target)
        return self.ms_att(fused, fused)


@register_op("msca", slot="up", paper=PAPER + ", MSCA Eq. 4", args=ARGS, **RECORD_FIELDS)
class MSCA(_MSFusion):
    """Multi-scale cross-attention fusion: P = MS-Att(Q = F, KV = Up(P_coarse)).

    Eq. 4's "F + S" is read as the residual already inside Eq. 7, so F is added once (components.md §4.2).
    """

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        return self.ms_att(target, self.upsample(source, target))
