"""Feature Pyramid Transformer (Zhang et al., ECCV 2020, Sec. 3): ST, GT, LGT and RT.

Where the paper and its released code differ (components.md §3, ambiguity register item 8-9), the
paper is the default and the code's choice is a flag, with one exception measured to be needed (RT ``norm``):

* ``scale_mode``: logits of each mixture part scaled by 1/√(d_k/N) (``part``, default) or by the
  code's 1/√d_k (``full``); the paper gives none.
* ``prior_from``: the mixture prior π from the mean key k̄ (paper) or the mean query (code).
* ST ``kv_pool``: keys/values average-pooled ×2 (code; keeps P2 self-attention tractable).
* ST ``residual``: the paper's ST outputs X̂ alone (concatenated with X by the fusion); the code adds X.
* RT ``gap_transform``: the code's 1×1 conv + BN + ReLU on the pooled vector.
* ST/GT/LGT ``zero_init``: their output BN starts at γ = β = 0, as the code's W_z (and the non-local block's); the
  paper gives no init, and the default is PyTorch's γ = 1. Zero-initialised, GT stayed near-silent through the
  proxy's 300 iterations, and as a pyramid's top-down step (GT's output alone) it would start the level at 0
  (benchmarks/results/fpt_rt.md).
* RT ``norm``: BatchNorm after each of its three convs (default). Eq. 6 names no normalisation, but the paper
  trains FPT with synchronized BN (Table 2) and the code normalises both RT branches; with bare convs RT's
  output grows with the square of the pyramid's scale and ran away on the proxy (benchmarks/results/fpt_rt.md).
"""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from necksearch.ops.attention import mixture_of_softmaxes
from necksearch.ops.basic import conv
from necksearch.catalogue.domain import ODD_KERNEL, POSITIVE, PROBABILITY
from necksearch.ops.registry import register_op
from necksearch.ops.resize import check_scale

FPT = "FPT (Zhang et al., ECCV 2020)"
SCALE_MODES = ("part", "full")
PRIOR_SOURCES = ("key", "query")


def tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B, HW, C)."""
    return x.flatten(2).transpose(1, 2)


class MixturePrior(nn.Module):
    """π = softmax_n(w_nᵀ x̄), x̄ the mean key (paper) or query (code) over positions (FPT Eq. 2)."""

    def __init__(self, key_channels: int, num_parts: int, prior_from: str, scale_mode: str) -> None:
        super().__init__()
        if prior_from not in PRIOR_SOURCES:
            raise ValueError(f"prior_from must be one of {PRIOR_SOURCES}, got {prior_from!r}")
        if scale_mode not in SCALE_MODES:
            raise ValueError(f"scale_mode must be one of {SCALE_MODES}, got {scale_mode!r}")
        if key_channels % num_parts:
            raise ValueError(f"key channels {key_channels} must divide into num_parts={num_parts}")
        self.num_parts, self.prior_from = num_parts, prior_from
        self.logit_scale = 1 / math.sqrt(key_channels / num_parts if scale_mode == "part" else key_channels)
        self.weights = nn.Linear(key_channels, num_parts, bias=False)

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """q, k: (B, L, d_k) → π (B, N)."""
        mean = (k if self.prior_from == "key" else q).mean(dim=1)
        return self.weights(mean).softmax(-1)


class OutputProjection(nn.Sequential):
    """BN(Conv1×1(x̂)) back to the pyramid width (FPT code's W_z / ACF output).

    ``zero_init``: BN's γ and β start at 0, so the transformer's output is 0 until it learns one, as the released
    code initialises W_z (after the non-local block, Wang et al. CVPR 2018, that ST and GT build on); the paper is
    silent. Off by default: on the proxy a zero-initialised GT stayed near-silent through training, and where GT or
    LGT is a pyramid's top-down step on its own it would start that level at 0.
    """

    def __init__(self, in_channels: int, out_channels: int, zero_init: bool = False) -> None:
        super().__init__(conv(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        if zero_init:
            nn.init.zeros_(self[1].weight)
            nn.init.zeros_(self[1].bias)


@register_op("st", slot="unary", paper=FPT + ", Self-Transformer",
             args={"num_parts": POSITIVE, "attn_dropout": PROBABILITY})
class SelfTransformer(nn.Module):
    """BN(W X̂), X̂ = mixture-of-softmaxes dot-product self-attention within one level.

    The paper (Sec. 3.2 and Sec. 4 "FPT for object detection") outputs the transformed map X̂ and
    concatenates it with the original X before the fusing 3×3 conv, so X reaches each fusion once through
    the concat; the released code (CFNet's ACF module) returns X + BN(W X̂), with which X would enter the
    concat twice. ``residual=True`` selects the code's form (useful where ST stands alone, not in a concat).

    Args:
        num_parts: N of the mixture (2 for ST).
        kv_pool: average-pool keys and values by 2 (3×3, stride 2) as the released code does.
        attn_dropout: dropout on attention weights (code: 0.1; paper: none).
        residual: add X to the output (released code) instead of returning the transform alone (paper).
        zero_init: start the output projection's BN at γ = β = 0, the released code's init (see
            :class:`OutputProjection` for why it is off by default).
    """

    def __init__(self, channels: int, num_parts: int = 2, kv_pool: bool = True,
                 scale_mode: Literal["part", "full"] = "part", prior_from: Literal["key", "query"] = "key",
                 attn_dropout: float = 0.0, residual: bool = False, zero_init: bool = False) -> None:
        super().__init__()
        self.kv_pool, self.attn_dropout, self.residual = kv_pool, attn_dropout, residual
        self.query, self.key, self.value = (conv(channels, channels, 1) for _ in range(3))
        self.prior = MixturePrior(channels, num_parts, prior_from, scale_mode)
        self.out = OutputProjection(channels, channels, zero_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kv = F.avg_pool2d(x, 3, 2, 1) if self.kv_pool else x
        q, k, v = tokens(self.query(x)), tokens(self.key(kv)), tokens(self.value(kv))
        dropout = self.attn_dropout if self.training else 0.0
        attended = mixture_of_softmaxes(q, k, v, self.prior(q, k), self.prior.num_parts, False,
                                        self.prior.logit_scale, dropout)
        transformed = self.out(attended.transpose(1, 2).reshape_as(x))
        return x + transformed if self.residual else transformed


class _GroundingBase(nn.Module):
    """Shared parts of GT and LGT: fine queries, coarse keys/values, Euclidean MoS, output projection."""

    def __init__(self, channels: int, num_parts: int, reduction: int, scale_mode: str, prior_from: str,
                 zero_init: bool) -> None:
        super().__init__()
        inner = channels // reduction
        self.query, self.key, self.value = (conv(channels, inner, 1) for _ in range(3))
        self.prior = MixturePrior(inner, num_parts, prior_from, scale_mode)
        self.out = OutputProjection(inner, channels, zero_init)


@register_op("gt", slot="up", paper=FPT + ", Grounding Transformer",
             args={"num_parts": POSITIVE, "reduction": POSITIVE}, target_as_query=True)
class GroundingTransformer(_GroundingBase):
    """Fine queries attend to every coarse position with F_eud = −‖q−k‖² under a mixture of softmaxes.

    Args:
        num_parts: N of the mixture (4 for GT).
        reduction: d_k = channels / reduction (paper: unspecified → 1, i.e. 256; code: 2).
        zero_init: start the output projection's BN at γ = β = 0, the released code's init (see
            :class:`OutputProjection` for why it is off by default).
    """

    def __init__(self, channels: int, num_parts: int = 4, reduction: int = 1,
                 scale_mode: Literal["part", "full"] = "part", prior_from: Literal["key", "query"] = "key",
                 zero_init: bool = False) -> None:
        super().__init__(channels, num_parts, reduction, scale_mode, prior_from, zero_init)

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        q, k, v = tokens(self.query(target)), tokens(self.key(source)), tokens(self.value(source))
        attended = mixture_of_softmaxes(q, k, v, self.prior(q, k), self.prior.num_parts, True, self.prior.logit_scale)
        b, _, h, w = target.shape
        return self.out(attended.transpose(1, 2).reshape(b, -1, h, w))


def windows_under(x: torch.Tensor, window: int, size: tuple[int, int], scale: int) -> torch.Tensor:
    """The window×window neighbourhood of coarse cell (⌊y/s⌋, ⌊x/s⌋) for every fine position (y, x).

    Returns (B, C, window², H, W); out-of-range neighbours are zeros (the indexing of CARAFE).
    """
    b, c, h, w = x.shape
    needed = ((size[0] - 1) // scale + 1, (size[1] - 1) // scale + 1)  # plain ints: shape-only (meta) passes work
    if needed[0] > h or needed[1] > w:
        raise ValueError(f"lgt: fine size {size} at scale {scale} needs a coarse map of at least {needed}, "
                         f"got {(h, w)}")
    unfolded = F.unfold(x, window, padding=window // 2).view(b, c, window * window, h, w)
    rows = torch.arange(size[0], device=x.device) // scale
    cols = torch.arange(size[1], device=x.device) // scale
    return unfolded.index_select(3, rows).index_select(4, cols)


@register_op("lgt", slot="up", paper=FPT + ", Locality-constrained Grounding Transformer",
             args={"window": ODD_KERNEL, "num_parts": POSITIVE, "reduction": POSITIVE}, target_as_query=True)
class LocalGroundingTransformer(_GroundingBase):
    """GT restricted to a square window of the coarse map centred under each fine query.

    Zero-padded keys outside the map take part in the softmax (the paper's literal reading).

    Args:
        window: square_size (5 in the paper).
        scale: level ratio s between target and source.
        num_parts, reduction, zero_init: as GT's.
    """

    def __init__(self, channels: int, scale: int = 2, window: int = 5, num_parts: int = 4, reduction: int = 1,
                 scale_mode: Literal["part", "full"] = "part", prior_from: Literal["key", "query"] = "key",
                 zero_init: bool = False) -> None:
        super().__init__(channels, num_parts, reduction, scale_mode, prior_from, zero_init)
        self.scale, self.window = check_scale(scale), window

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        q, k, v = self.query(target), self.key(source), self.value(source)
        size = tuple(target.shape[-2:])
        k_win, v_win = (windows_under(t, self.window, size, self.scale) for t in (k, v))
        n = self.prior.num_parts
        q_parts = q.unflatten(1, (n, -1)).unsqueeze(3)                     # (B, N, d/N, 1, H, W)
        k_parts = k_win.unflatten(1, (n, -1))                              # (B, N, d/N, w², H, W)
        logits = -(q_parts - k_parts).pow(2).sum(2) * self.prior.logit_scale
        prior = self.prior(tokens(q), tokens(k))                           # (B, N)
        weights = torch.einsum("bn,bnkhw->bkhw", prior, logits.softmax(2))
        return self.out(torch.einsum("bkhw,bckhw->bchw", weights, v_win))


# revision 2 (2026-12-06): BatchNorm pooled over the batch for GAP(K) (PooledBatchNorm), so that a batch of one
# image trains; trainings of the first revision do not answer for graphs with RT.
@register_op("rt", slot="down", paper=FPT + ", Rendering Transformer", revision=2)
class RenderingTransformer(nn.Module):
    """BN-Conv3×3(BN-Conv3×3(Q ⊙ GAP(K)) + BN-Conv3×3-stride-s(V)), Q the coarse target, K = V the fine source.

    FPT Sec. 3.4, Eq. 6 (Fig. 3(d)): w = GAP(K), Q_att = Q ⊙ w, V_dow = F_sconv(V),
    X̂ᶜ = F_add(F_conv(Q_att), V_dow) with F_add a sum followed by a 3×3 conv.

    Q ⊙ GAP(K) is quadratic in the pyramid's scale and GAP(K) of an unnormalised lateral is a sign-indefinite
    weight of any size (−9…+9 at the proxy's initialisation), unlike the bounded weights of the channel-wise
    attention the paper cites ([6], SCA-CNN). Without normalisation RT's outputs start at 3× the laterals' RMS
    and 10-20× GT's, and the fused P5 ran away to RMS 100+ within 3 proxy epochs (issue 22,
    ``benchmarks/results/fpt_rt.md``). Hence BatchNorm after each conv by default: the paper trains FPT with
    (synchronized) BN, Table 2, and the released code normalises both RT branches.

    Args:
        scale: level ratio s (stride of the V conv: 2, 4 or 8).
        gap_transform: the code's 1×1 conv + BN + ReLU on the pooled key vector.
        norm: BatchNorm after each of the three convs (default); ``False`` is Eq. 6 with bare convs.
    """

    def __init__(self, channels: int, scale: int = 2, gap_transform: bool = False, norm: bool = True) -> None:
        super().__init__()
        self.gap = nn.Sequential(conv(channels, channels, 1), PooledBatchNorm(channels), nn.ReLU()) \
            if gap_transform else nn.Identity()
        self.query_conv = conv_norm(channels, 1, norm)
        self.value_conv = conv_norm(channels, check_scale(scale), norm)
        self.out = conv_norm(channels, 1, norm)

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        weights = self.gap(F.adaptive_avg_pool2d(source, 1))
        return self.out(self.query_conv(target * weights) + self.value_conv(source))


class PooledBatchNorm(nn.BatchNorm2d):
    """BatchNorm of a pooled (N, C, 1, 1) vector. A training batch of one image has one value per channel and no
    batch statistics (``nn.BatchNorm2d`` raises): it is normalised with the running statistics, as in evaluation,
    and leaves them unchanged. Such a batch ends every epoch whose image count leaves 1 over the batch size (the 233
    tree tiles at batch 4)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


def conv_norm(channels: int, stride: int, norm: bool) -> nn.Module:
    """A 3×3 conv c → c, followed by BatchNorm (and without a bias, which BN would cancel) when ``norm``."""
    if not norm:
        return conv(channels, channels, 3, stride=stride)
    return nn.Sequential(conv(channels, channels, 3, stride=stride, bias=False), nn.BatchNorm2d(channels))
