"""Content-aware reassembly: CARAFE upsampling and CAP downsampling.

CARAFE (Wang et al., ICCV 2019; A²-FPN Eq. 9): out(x, y) = Σ_{dy,dx} K(x, y)[dy, dx] ·
in(⌊x/s⌋ + dx, ⌊y/s⌋ + dy) over a k×k window, zero outside. On CUDA tensors this calls mmcv's
kernel (``mmcv.ops.carafe``); elsewhere a PyTorch implementation that never materialises the
upsampled unfold (it multiplies per sub-pixel phase). mmcv has no CPU kernel, which is why the
PyTorch path exists.

CAP (A²-FPN Eq. 12): out(x, y) = Σ_{dy,dx} K(x, y)[dy, dx] · in(s·x + dx, s·y + dy), zero padded —
an unfold with stride s; no library provides it.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F


def _mmcv_carafe():
    """mmcv's CUDA CARAFE function, or None where mmcv's ops are not built."""
    try:
        from mmcv.ops import carafe
    except ImportError:
        return None
    return carafe


def carafe_reassemble(x: torch.Tensor, kernels: torch.Tensor, kernel_size: int, scale: int,
                      groups: int = 1) -> torch.Tensor:
    """Upsample ``x`` (B, C, h, w) with per-pixel kernels (B, G·k², H, W), softmax-normalised.

    The target (H, W) may be anything up to (s·h, s·w): odd levels (25 from 13) are cropped.
    Channel c belongs to group ⌊c / (C/G)⌋; kernel channel = g·k² + dy·k + dx (mmcv's layout).
    """
    b, c, h, w = x.shape
    target = kernels.shape[-2:]
    if target[0] > scale * h or target[1] > scale * w:
        raise ValueError(f"CARAFE target {tuple(target)} exceeds scale {scale} × input {(h, w)}")
    padded = F.pad(kernels, (0, scale * w - target[1], 0, scale * h - target[0]))
    if x.is_cuda and _mmcv_carafe() is not None:
        out = _mmcv_carafe()(x.contiguous(), padded.contiguous(), kernel_size, groups, scale)
    else:
        out = carafe_reassemble_torch(x, padded, kernel_size, scale, groups)
    return out[..., : target[0], : target[1]]


def carafe_reassemble_torch(x: torch.Tensor, kernels: torch.Tensor, kernel_size: int, scale: int,
                            groups: int = 1) -> torch.Tensor:
    """PyTorch CARAFE for kernels of exactly (s·h, s·w): unfold once, multiply per sub-pixel phase."""
    b, c, h, w = x.shape
    k2 = kernel_size * kernel_size
    windows = F.unfold(x, kernel_size, padding=kernel_size // 2).view(b, groups, c // groups, k2, h, w)
    phased = kernels.view(b, groups, k2, h, scale, w, scale)
    out = torch.einsum("bgckhw,bgkhiwj->bgchiwj", windows, phased)
    return out.reshape(b, c, h * scale, w * scale)


def cap_reassemble(x: torch.Tensor, kernels: torch.Tensor, kernel_size: int, scale: int) -> torch.Tensor:
    """Downsample ``x`` (B, C, H, W) with per-pixel kernels (B, k², ⌈H/s⌉, ⌈W/s⌉)."""
    b, c, height, width = x.shape
    out_hw = (math.ceil(height / scale), math.ceil(width / scale))
    if tuple(kernels.shape[-2:]) != out_hw:
        raise ValueError(f"CAP kernels are {tuple(kernels.shape[-2:])}, expected {out_hw} for input "
                         f"{(height, width)} at stride {scale}")
    k2 = kernel_size * kernel_size
    windows = F.unfold(x, kernel_size, padding=kernel_size // 2, stride=scale)
    windows = windows.view(b, c, k2, *out_hw)
    return torch.einsum("bckhw,bkhw->bchw", windows, kernels)


def fit_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Crop ``x`` to ``size``; used after pixel shuffle, which yields s·h ≥ the target."""
    if x.shape[-2] < size[0] or x.shape[-1] < size[1]:
        raise ValueError(f"cannot crop {tuple(x.shape[-2:])} to the larger {tuple(size)}")
    return x[..., : size[0], : size[1]]
