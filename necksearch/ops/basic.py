"""Classic neck operations: FPN's lateral, sum and 3×3 conv, PAFPN's strided-conv sum, concat, DropBlock."""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import drop_block2d

from necksearch.catalogue.domain import ODD_KERNEL, PROBABILITY
from necksearch.ops.registry import register_op
from necksearch.ops.resize import UP_MODES, check_scale, resize_to

FPN = "FPN (Lin et al., CVPR 2017)"


def conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    """A 'same'-padded convolution (output size ⌈H/stride⌉), Xavier-uniform weights and zero bias.

    The init is MMDetection's for FPN, PAFPN and CARAFE convs (``xavier_init(distribution='uniform')``),
    under which the published necks were trained; PyTorch's default would start them at another scale.
    """
    layer = nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=bias)
    nn.init.xavier_uniform_(layer.weight)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


@register_op("lateral", slot="lateral", paper=FPN, plain=True)
class Lateral(nn.Module):
    """1×1 lateral convolution C_l → c (FPN; mmdet ``FPN.lateral_convs``)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = conv(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@register_op("conv3x3", slot="unary", paper=FPN, plain=True)
class Conv3x3(nn.Module):
    """3×3 output convolution c → c (FPN's ``fpn_convs``), optionally followed by ReLU."""

    def __init__(self, channels: int, relu: bool = False) -> None:
        super().__init__()
        self.conv = conv(channels, channels, 3)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return x.relu() if self.relu else x


@register_op("sum", slot="up", paper=FPN, variadic=True, plain=True)
class Sum(nn.Module):
    """target + Σ sources resized to the target's size (FPN top-down; any direction, any number of sources).

    Args:
        mode: ``nearest`` (FPN) or ``bilinear`` upsampling; finer sources are max-pooled.
    """

    def __init__(self, channels: int, mode: Literal["nearest", "bilinear"] = "nearest") -> None:
        super().__init__()
        if mode not in UP_MODES:
            raise ValueError(f"mode must be one of {UP_MODES}, got {mode!r}")
        self.mode = mode

    def forward(self, target: torch.Tensor, *sources: torch.Tensor) -> torch.Tensor:
        for source in sources:
            target = target + resize_to(source, target.shape[-2:], self.mode)
        return target


@register_op("concat", slot="up", paper="Attention-based Feature Aggregation (ICLR 2022 submission), FPN-cat baseline",
             args={"num_inputs": {"low": 2}, "kernel_size": ODD_KERNEL}, variadic=True, input_count="num_inputs")
class Concat(nn.Module):
    """Conv_{k×k}(concat[target, resized sources]) with n·c → c channels.

    With the defaults this is the MSSA paper's FPN-cat baseline (1×1, 2c → c); FPT's per-level
    fusion of [X, ST, GT..., RT...] is ``num_inputs=5, kernel_size=3``.

    Args:
        num_inputs: target plus sources.
        kernel_size: of the fusing convolution.
        mode: upsampling mode for coarser sources (finer ones are max-pooled).
    """

    def __init__(self, channels: int, num_inputs: int = 2, kernel_size: int = 1,
                 mode: Literal["nearest", "bilinear"] = "nearest") -> None:
        super().__init__()
        if num_inputs < 2:
            raise ValueError(f"concat needs num_inputs >= 2, got {num_inputs}")
        if mode not in UP_MODES:
            raise ValueError(f"mode must be one of {UP_MODES}, got {mode!r}")
        self.num_inputs, self.mode = num_inputs, mode
        self.conv = conv(num_inputs * channels, channels, kernel_size)

    def forward(self, target: torch.Tensor, *sources: torch.Tensor) -> torch.Tensor:
        if 1 + len(sources) != self.num_inputs:
            raise ValueError(f"concat was built for {self.num_inputs} inputs, got {1 + len(sources)}")
        resized = [resize_to(s, target.shape[-2:], self.mode) for s in sources]
        return self.conv(torch.cat([target, *resized], dim=1))


@register_op("strided_conv_sum", slot="down", paper="PANet (Liu et al., CVPR 2018), mmdet PAFPN")
class StridedConvSum(nn.Module):
    """target + Conv3×3-stride-s(source): PAFPN's bottom-up step (s = 2 for adjacent levels)."""

    def __init__(self, channels: int, scale: int = 2) -> None:
        super().__init__()
        self.conv = conv(channels, channels, 3, stride=check_scale(scale))

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        return target + self.conv(source)


@register_op("maxpool_down", slot="extra", paper=FPN + ", mmdet FPN extra level (add_extra_convs=False)",
             same_width=True, plain=True)
class MaxPoolDown(nn.Module):
    """P6 = max_pool2d(P5, kernel 1, stride s): subsampling with no parameters (Faster/Mask R-CNN's P6)."""

    def __init__(self, in_channels: int, out_channels: int, scale: int = 2) -> None:
        super().__init__()
        if in_channels != out_channels:
            raise ValueError(f"maxpool_down keeps the width: in_channels {in_channels} != out_channels {out_channels}")
        self.scale = check_scale(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, 1, stride=self.scale)


@register_op("conv_down", slot="extra", paper="RetinaNet / mmdet FPN_CARAFE extra level; A2-FPN F6", plain=True)
class ConvDown(nn.Module):
    """A new level by Conv3×3 stride s (A²-FPN's F6 = Conv3×3-s2(C5: 2048 → 256); RetinaNet's P6)."""

    def __init__(self, in_channels: int, out_channels: int, scale: int = 2) -> None:
        super().__init__()
        self.conv = conv(in_channels, out_channels, 3, stride=check_scale(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@register_op("dropblock", slot="unary", paper="DropBlock (Ghiasi et al., NeurIPS 2018), as used by FPT",
             args={"drop_prob": PROBABILITY, "block_size": ODD_KERNEL}, detector_field="output_dropblock")
class DropBlock(nn.Module):
    """DropBlock on a map (torchvision's ``drop_block2d``); identity at inference.

    FPT applies it to every output map with block 5 and keep probability 0.9. On maps smaller than
    the block (a small image's coarsest level) the block shrinks to the largest odd size that fits.
    """

    def __init__(self, channels: int, drop_prob: float = 0.1, block_size: int = 5) -> None:
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}")
        if block_size < 1 or block_size % 2 == 0:
            raise ValueError(f"block_size must be odd and positive, got {block_size}")
        self.drop_prob, self.block_size = drop_prob, block_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fitting = min(self.block_size, (min(x.shape[-2:]) - 1) // 2 * 2 + 1)
        return drop_block2d(x, self.drop_prob, fitting, training=self.training)
