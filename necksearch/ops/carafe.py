"""Content-aware up/down fusion: CARAFE, CAP (A²-FPN Table 3 baselines) and GACARAFE, GACAP (A²-FPN Sec. 3.3).

Both build X = concat[source-side map, target-side map] and split the 2c-channel attention S = [Ŝ, Š] as
the paper writes it: GACARAFE (Eq. 10) out = Ŝ ⊙ reassemble(source) + Š ⊙ target, GACAP (Eq. 13)
out = Ŝ ⊙ target + Š ⊙ reassemble(source). W3 starts at zero so that S ≡ 1 at initialisation (GCNet's
last-zero init, as mmcv's ContextBlock; the paper gives no init, components.md §2.6).
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from necksearch.ops.basic import conv
from necksearch.catalogue.domain import ODD_KERNEL, POSITIVE
from necksearch.ops.registry import register_op
from necksearch.ops.reassembly import cap_reassemble, carafe_reassemble, fit_to
from necksearch.ops.resize import check_scale

A2FPN = "A2-FPN (Hu et al., CVPR 2021)"
#: The hyper-parameters of the reassembly ops beyond their annotations.
UP_ARGS = {"up_kernel": ODD_KERNEL, "encoder_kernel": ODD_KERNEL, "compressed_channels": POSITIVE}
DOWN_ARGS = {"down_kernel": ODD_KERNEL, "encoder_kernel": ODD_KERNEL, "compressed_channels": POSITIVE}
GATES = ("2sigmoid", "sigmoid")


def kernel_encoder(in_channels: int, compressed: int, out_channels: int, encoder_kernel: int,
                   stride: int = 1, blend: bool = False) -> nn.Sequential:
    """Kernel prediction: Conv1×1 → [3×3 blending conv + ReLU] → Conv k_en×k_en (A²-FPN Eqs. 8, 11).

    ``blend`` adds the C_m → C_m blending conv that distinguishes GACARAFE/GACAP from CARAFEPack;
    the last conv is initialised N(0, 0.001) as in mmcv's CARAFEPack, so kernels start near uniform.
    """
    layers = [conv(in_channels, compressed, 1)]
    if blend:
        layers += [conv(compressed, compressed, 3), nn.ReLU(inplace=True)]
    last = conv(compressed, out_channels, encoder_kernel, stride=stride)
    nn.init.normal_(last.weight, std=1e-3)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class GatedChannelAttention(nn.Module):
    """S = g(W3 ReLU(LN(W2 Z))), Z = attention-pooled X (A²-FPN Eq. 10; GCNet-style context block); W3 = 0 at init.

    Args:
        channels: channels of X (2c).
        hidden: width of W2 (c/2 in A²-FPN; the OCR's "5/2" reads as c/2, budget-confirmed).
        gate: ``2sigmoid`` (paper) or ``sigmoid`` (Table 5 ablation).
    """

    def __init__(self, channels: int, hidden: int, gate: Literal["2sigmoid", "sigmoid"] = "2sigmoid") -> None:
        super().__init__()
        if gate not in GATES:
            raise ValueError(f"gate must be one of {GATES}, got {gate!r}")
        self.gate = gate
        self.pool_logits = conv(channels, 1, 1)
        self.squeeze = nn.Linear(channels, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.excite = nn.Linear(hidden, channels)
        nn.init.zeros_(self.excite.weight)  # S = 2σ(0) = 1 at init (GCNet's last-zero init)
        nn.init.zeros_(self.excite.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.pool_logits(x).flatten(2).softmax(-1)               # (B, 1, HW)
        pooled = (x.flatten(2) * weights).sum(-1)                          # (B, 2c)
        s = torch.sigmoid(self.excite(F.relu(self.norm(self.squeeze(pooled)))))
        s = 2 * s if self.gate == "2sigmoid" else s
        return s[:, :, None, None]


def softmax_kernels(logits: torch.Tensor) -> torch.Tensor:
    """Normalise predicted k×k kernels over their taps (one group)."""
    return logits.softmax(dim=1)


@register_op("carafe", slot="up", paper="CARAFE (Wang et al., ICCV 2019), A2-FPN Table 3 'w/ CARAFE'", args=UP_ARGS)
class CARAFE(nn.Module):
    """target + CARAFE-upsampled source, kernels predicted from the source only (mmcv ``CARAFEPack`` + sum)."""

    def __init__(self, channels: int, scale: int = 2, up_kernel: int = 5, encoder_kernel: int = 3,
                 compressed_channels: int = 64) -> None:
        super().__init__()
        self.scale, self.up_kernel = check_scale(scale), up_kernel
        self.encoder = kernel_encoder(channels, compressed_channels, scale * scale * up_kernel ** 2, encoder_kernel)

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        kernels = F.pixel_shuffle(self.encoder(source), self.scale)
        kernels = softmax_kernels(fit_to(kernels, target.shape[-2:]))
        return target + carafe_reassemble(source, kernels, self.up_kernel, self.scale)


@register_op("cap", slot="down", paper=A2FPN + ", Table 3 'w/ CAP'", args=DOWN_ARGS)
class CAP(nn.Module):
    """target + content-aware-pooled source, kernels predicted from the (fine) source only."""

    def __init__(self, channels: int, scale: int = 2, down_kernel: int = 5, encoder_kernel: int = 3,
                 compressed_channels: int = 64) -> None:
        super().__init__()
        self.scale, self.down_kernel = check_scale(scale), down_kernel
        self.encoder = kernel_encoder(channels, compressed_channels, down_kernel ** 2, encoder_kernel, stride=scale)

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        kernels = softmax_kernels(self.encoder(source))
        return target + cap_reassemble(source, kernels, self.down_kernel, self.scale)


@register_op("gacarafe", slot="up", paper=A2FPN + ", Sec. 3.3 Eqs. 7-10", args=UP_ARGS)
class GACARAFE(nn.Module):
    """Global-attention CARAFE: kernels and channel gates from concat[source, maxpool(target)].

    Args:
        scale: level ratio s (2 for adjacent levels); also the max-pool kernel and stride.
        up_kernel: k_up, reassembly window.
        encoder_kernel: k_en^up.
        compressed_channels: C_m^up.
        gate: ``2sigmoid`` (paper) or ``sigmoid`` (Table 5).
    """

    def __init__(self, channels: int, scale: int = 2, up_kernel: int = 5, encoder_kernel: int = 3,
                 compressed_channels: int = 64, gate: Literal["2sigmoid", "sigmoid"] = "2sigmoid") -> None:
        super().__init__()
        self.scale, self.up_kernel = check_scale(scale), up_kernel
        self.encoder = kernel_encoder(2 * channels, compressed_channels, scale * scale * up_kernel ** 2,
                                      encoder_kernel, blend=True)
        self.attention = GatedChannelAttention(2 * channels, channels // 2, gate)

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        pooled = F.max_pool2d(target, self.scale, self.scale, ceil_mode=True)
        if pooled.shape[-2:] != source.shape[-2:]:
            raise ValueError(f"gacarafe: target {tuple(target.shape[-2:])} pooled by {self.scale} is "
                             f"{tuple(pooled.shape[-2:])}, but the source is {tuple(source.shape[-2:])}")
        x = torch.cat([source, pooled], dim=1)
        kernels = softmax_kernels(fit_to(F.pixel_shuffle(self.encoder(x), self.scale), target.shape[-2:]))
        s_source, s_target = self.attention(x).chunk(2, dim=1)
        return s_source * carafe_reassemble(source, kernels, self.up_kernel, self.scale) + s_target * target


@register_op("gacap", slot="down", paper=A2FPN + ", Sec. 3.4 Eqs. 11-13", args=DOWN_ARGS)
class GACAP(nn.Module):
    """Global-attention content-aware pooling: kernels and gates from concat[source, upsample(target)]."""

    def __init__(self, channels: int, scale: int = 2, down_kernel: int = 5, encoder_kernel: int = 3,
                 compressed_channels: int = 64, gate: Literal["2sigmoid", "sigmoid"] = "2sigmoid") -> None:
        super().__init__()
        self.scale, self.down_kernel = check_scale(scale), down_kernel
        self.encoder = kernel_encoder(2 * channels, compressed_channels, down_kernel ** 2, encoder_kernel,
                                      stride=scale, blend=True)
        self.attention = GatedChannelAttention(2 * channels, channels // 2, gate)

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        upsampled = F.interpolate(target, size=source.shape[-2:], mode="bilinear", align_corners=False)
        x = torch.cat([source, upsampled], dim=1)
        kernels = softmax_kernels(self.encoder(x))
        s_target, s_source = self.attention(x).chunk(2, dim=1)  # Eq. 13: Ŝ weighs P_i^td, Š the pooled map
        return s_target * target + s_source * cap_reassemble(source, kernels, self.down_kernel, self.scale)
