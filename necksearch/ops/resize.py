"""Resizing to an explicit target size (never ``scale_factor``), so odd sizes and non-adjacent levels work.

Upsampling interpolates; downsampling max-pools, as mmcv's merge cells (``BaseMergeCell``) do.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

UP_MODES = ("nearest", "bilinear")


def resize_to(x: torch.Tensor, size: Sequence[int], mode: str = "nearest") -> torch.Tensor:
    """Resize ``x`` (B, C, h, w) to ``size`` = (H, W).

    Larger targets are interpolated with ``mode`` (bilinear with ``align_corners=False``); smaller
    ones are adaptive-max-pooled. Equal sizes return ``x`` itself.
    """
    size = tuple(int(s) for s in size)
    if tuple(x.shape[-2:]) == size:
        return x
    if size[0] >= x.shape[-2] and size[1] >= x.shape[-1]:
        if mode not in UP_MODES:
            raise ValueError(f"upsampling mode must be one of {UP_MODES}, got {mode!r}")
        return F.interpolate(x, size=size, mode=mode, **({"align_corners": False} if mode == "bilinear" else {}))
    return F.adaptive_max_pool2d(x, size)


def check_scale(scale: int) -> int:
    """Validate a fusion's scale ratio between levels (a power of two ≥ 2)."""
    if not isinstance(scale, int) or scale < 2 or scale & (scale - 1):
        raise ValueError(f"scale must be a power of two >= 2 (2 for adjacent levels), got {scale!r}")
    return scale
