"""AugFPN (Guo et al., CVPR 2020): Residual Feature Augmentation and Soft RoI Selection's fusion.

Both rest on Adaptive Spatial Fusion (Sec. 3.3): concat the inputs → Conv1×1 → ReLU → Conv3×3 to one
map per input → sigmoid (independent weights, not a softmax) → Σ weight_k ⊙ input_k.
Consistent Supervision is a training-time loss of the RoI head and lives in the MMDetection layer.
"""
from __future__ import annotations

from typing import List, Literal, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from necksearch.ops.basic import conv
from necksearch.ops.registry import register_op

AUGFPN = "AugFPN (Guo et al., CVPR 2020)"


class AdaptiveSpatialFusion(nn.Module):
    """ASF: per-pixel sigmoid weights for each of ``num_inputs`` maps, then their weighted sum."""

    def __init__(self, channels: int, num_inputs: int) -> None:
        super().__init__()
        self.squeeze = conv(num_inputs * channels, channels, 1)
        self.weights = conv(channels, num_inputs, 3)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        weights = torch.sigmoid(self.weights(F.relu(self.squeeze(torch.cat(inputs, dim=1)))))
        return sum(weights[:, k: k + 1] * x for k, x in enumerate(inputs))


@register_op("rfa", slot="lateral", paper=AUGFPN + ", Residual Feature Augmentation",
             args={"ratios": {"low": 0.0, "high": 1.0, "low_open": True}})
class ResidualFeatureAugmentation(nn.Module):
    """The residual M6 added to the top lateral M5: ratio-invariant pooled contexts of C5, fused by ASF.

    The op returns M6 only; a graph adds it to the 1×1 lateral of C5 (so the pre-RFA lateral stays
    available to Consistent Supervision).

    Args:
        ratios: adaptive pooling to ⌊α·h⌋ × ⌊α·w⌋ for each α (Table 4: (0.1, 0.2, 0.3) default).
        fusion: ``asf`` (paper) or ``sum`` (Table 4 ablation).
    """

    def __init__(self, in_channels: int, out_channels: int, ratios: Sequence[float] = (0.1, 0.2, 0.3),
                 fusion: Literal["asf", "sum"] = "asf") -> None:
        super().__init__()
        if fusion not in ("asf", "sum"):
            raise ValueError(f"fusion must be 'asf' or 'sum', got {fusion!r}")
        if not ratios or any(not 0 < r <= 1 for r in ratios):
            raise ValueError(f"ratios must be non-empty values in (0, 1], got {tuple(ratios)}")
        self.ratios = tuple(ratios)
        self.reduce = nn.ModuleList(conv(in_channels, out_channels, 1) for _ in self.ratios)
        self.fusion = AdaptiveSpatialFusion(out_channels, len(self.ratios)) if fusion == "asf" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        contexts = []
        for ratio, reduce in zip(self.ratios, self.reduce):
            pooled = F.adaptive_avg_pool2d(x, (max(1, int(ratio * h)), max(1, int(ratio * w))))
            contexts.append(F.interpolate(reduce(pooled), size=(h, w), mode="bilinear", align_corners=True))
        return self.fusion(contexts) if self.fusion is not None else sum(contexts)


@register_op("srs", slot="roi", paper=AUGFPN + ", Soft RoI Selection")
class SoftRoISelection(nn.Module):
    """ASF over one RoI's features pooled from every level (no heuristic level assignment).

    The MMDetection RoI extractor RoIAligns every RoI on all levels and calls this (7×7 box branch,
    an independent 14×14 instance for masks).
    """

    def __init__(self, channels: int, num_levels: int = 4) -> None:
        super().__init__()
        self.num_levels = num_levels
        self.fusion = AdaptiveSpatialFusion(channels, num_levels)

    def forward(self, rois: List[torch.Tensor]) -> torch.Tensor:
        if len(rois) != self.num_levels:
            raise ValueError(f"srs was built for {self.num_levels} levels, got {len(rois)}")
        return self.fusion(rois)
