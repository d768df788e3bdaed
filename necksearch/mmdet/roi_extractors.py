"""RoI extractors that pool every RoI on every level (no heuristic level assignment).

* :class:`LevelwiseRoIExtractor` returns one RoI feature tensor per level (consistent supervision's
  auxiliary heads read each level separately).
* :class:`SRSRoIExtractor` (registered in mmdet's ``MODELS``) fuses them with AugFPN's Soft RoI
  Selection, the registered ``srs`` operation (Adaptive Spatial Fusion over the levels).
"""
from __future__ import annotations

from typing import List, Optional, Sequence

from mmdet.models.roi_heads.roi_extractors import BaseRoIExtractor
from torch import Tensor

from necksearch.ops import build_op


class LevelwiseRoIExtractor(BaseRoIExtractor):
    """RoIAlign of every RoI on each of the ``len(featmap_strides)`` levels → a list of tensors.

    Args:
        roi_layer: mmcv RoI layer config, e.g. ``dict(type='RoIAlign', output_size=7, sampling_ratio=0)``.
        out_channels: width of the maps.
        featmap_strides: stride of each level (the levels ``feats`` holds, in the same order).
    """

    def pool(self, feats: Sequence[Tensor], rois: Tensor, roi_scale_factor: Optional[float] = None) -> List[Tensor]:
        """(R, C, k, k) per level, the i-th from ``feats[i]`` at stride ``featmap_strides[i]``."""
        if len(feats) < self.num_inputs:
            raise ValueError(f"{type(self).__name__} pools {self.num_inputs} levels, got {len(feats)} maps")
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        if rois.size(0) == 0:
            size = self.roi_layers[0].output_size
            return [feats[i].new_zeros(0, feats[i].size(1), *size) for i in range(self.num_inputs)]
        rois = rois.to(feats[0].dtype)
        return [layer(feats[i], rois) for i, layer in enumerate(self.roi_layers)]

    def forward(self, feats: Sequence[Tensor], rois: Tensor,  # type: ignore[override]
                roi_scale_factor: Optional[float] = None) -> List[Tensor]:
        return self.pool(feats, rois, roi_scale_factor)


class SRSRoIExtractor(LevelwiseRoIExtractor):
    """AugFPN Soft RoI Selection: RoIAlign on all levels, then the ``srs`` op (ASF) fuses them.

    Registered in mmdet's ``MODELS`` as ``SRSRoIExtractor``; use it for ``bbox_roi_extractor`` (7×7) and,
    as an independent instance, ``mask_roi_extractor`` (14×14). 271,620 parameters at 256 channels and
    4 levels (Conv1×1 1024→256 + Conv3×3 256→4).
    """

    def __init__(self, roi_layer, out_channels: int, featmap_strides: List[int], init_cfg=None) -> None:
        super().__init__(roi_layer=roi_layer, out_channels=out_channels, featmap_strides=featmap_strides,
                         init_cfg=init_cfg)
        self.fusion = build_op("srs", channels=out_channels, num_levels=len(featmap_strides))

    def forward(self, feats: Sequence[Tensor], rois: Tensor,  # type: ignore[override]
                roi_scale_factor: Optional[float] = None) -> Tensor:
        pooled = self.pool(feats, rois, roi_scale_factor)
        if rois.size(0) == 0:
            return pooled[0] + sum(p.sum() for p in self.fusion.parameters()) * 0  # keeps the graph connected
        return self.fusion(pooled)

