"""``CSRoIHead``: a ``StandardRoIHead`` with AugFPN's Consistent Supervision (training only).

For the same sampled RoIs and the same targets as the main head, every RoI is RoIAligned on each
lateral M_l (7×7 for boxes, 14×14 for masks), one auxiliary box head (the main head's architecture,
weights shared across the levels, separate from the main head) predicts from each level, and
``weight × loss`` is added per level (0.25 each in the paper, summed, not averaged):
``loss_cls_cs_p{l}``, ``loss_bbox_cs_p{l}`` (and the unweighted ``acc_cs_p{l}``, which has no
"loss" in its name so it is only logged). With a mask head, an auxiliary FCN mask head does the same
on the positive RoIs (``loss_mask_cs_p{l}``).

Keeping it out of inference: the auxiliary modules are built only when the detector switches
consistent supervision on (:meth:`CSRoIHead.init_consistent_supervision`), they all live under
attributes named ``cs_*`` and only the losses of :meth:`CSRoIHead.loss` read them, and only for laterals the
detector handed over in training (``predict``/``forward`` are
StandardRoIHead's). :meth:`CSRoIHead.drop_consistent_supervision` deletes them, and a head without
them silently drops ``cs_*`` keys when loading a state dict, so a training checkpoint loads strictly
into the inference model (the same detector built with ``consistent_supervision=0``).
"""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from torch import Tensor

from necksearch.mmdet.roi_extractors import LevelwiseRoIExtractor

#: Attribute-name prefix of every module that only consistent supervision uses.
CS_PREFIX = "cs_"
_CS_MODULES = ("cs_bbox_roi_extractor", "cs_bbox_head", "cs_mask_roi_extractor", "cs_mask_head")


class CSRoIHead(StandardRoIHead):
    """StandardRoIHead plus consistent-supervision losses on the neck's laterals (see the module doc).

    Registered in mmdet's ``MODELS`` as ``CSRoIHead``. Until the detector calls
    :meth:`init_consistent_supervision` it is exactly a StandardRoIHead (no extra parameters).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cs_weight = 0.0
        self.cs_levels: Tuple[int, ...] = ()
        self._laterals: Optional[Tuple[Tensor, ...]] = None
        self._register_load_state_dict_pre_hook(self._drop_cs_keys_when_off)

    # -- construction ------------------------------------------------------------------------------------
    def init_bbox_head(self, bbox_roi_extractor, bbox_head) -> None:
        self._cs_bbox_cfg = (copy.deepcopy(bbox_roi_extractor), copy.deepcopy(bbox_head))
        super().init_bbox_head(bbox_roi_extractor, bbox_head)

    def init_mask_head(self, mask_roi_extractor, mask_head) -> None:
        self._cs_mask_cfg = (copy.deepcopy(mask_roi_extractor), copy.deepcopy(mask_head))
        super().init_mask_head(mask_roi_extractor, mask_head)

    def init_consistent_supervision(self, weight: float, levels: Sequence[int], in_channels: int) -> None:
        """Build the auxiliary extractors and heads for laterals at ``levels`` (stride 2^level).

        The auxiliary box (mask) head is built from the main head's config with ``in_channels`` set to
        the laterals' width; the RoI layers are the main extractors' (7×7 boxes, 14×14 masks).
        """
        if weight <= 0:
            raise ValueError(f"consistent supervision needs a positive weight, got {weight}")
        if not self.with_bbox:
            raise ValueError("consistent supervision needs a bbox head")
        self.cs_weight, self.cs_levels = float(weight), tuple(int(level) for level in levels)
        strides = [2 ** level for level in self.cs_levels]
        extractor_cfg, head_cfg = self._cs_bbox_cfg
        self.cs_bbox_roi_extractor = LevelwiseRoIExtractor(
            roi_layer=copy.deepcopy(extractor_cfg["roi_layer"]), out_channels=in_channels, featmap_strides=strides)
        self.cs_bbox_head = MODELS.build({**copy.deepcopy(head_cfg), "in_channels": in_channels})
        if self.with_mask:
            extractor_cfg, head_cfg = self._cs_mask_cfg
            extractor_cfg = extractor_cfg if extractor_cfg is not None else self._cs_bbox_cfg[0]
            self.cs_mask_roi_extractor = LevelwiseRoIExtractor(
                roi_layer=copy.deepcopy(extractor_cfg["roi_layer"]), out_channels=in_channels,
                featmap_strides=strides)
            self.cs_mask_head = MODELS.build({**copy.deepcopy(head_cfg), "in_channels": in_channels})

    def drop_consistent_supervision(self) -> None:
        """Delete every auxiliary module (deployment): the head is then a plain StandardRoIHead."""
        for name in _CS_MODULES:
            if hasattr(self, name):
                delattr(self, name)
        self.cs_weight, self.cs_levels = 0.0, ()

    @property
    def with_cs(self) -> bool:
        """Whether the auxiliary consistent-supervision heads exist."""
        return getattr(self, "cs_bbox_head", None) is not None

    def _drop_cs_keys_when_off(self, state_dict, prefix, *_args) -> None:
        if not self.with_cs:
            for key in [k for k in state_dict if k.startswith(prefix + CS_PREFIX)]:
                del state_dict[key]

    # -- training ----------------------------------------------------------------------------------------
    def hand_laterals(self, laterals: Sequence[Tensor]) -> None:
        """The neck's laterals (one per ``cs_levels`` entry) of the forward whose :meth:`loss` comes next."""
        if len(laterals) != len(self.cs_levels):
            raise ValueError(f"consistent supervision was built for levels {self.cs_levels}, "
                             f"got {len(laterals)} laterals")
        self._laterals = tuple(laterals)

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList, batch_data_samples: SampleList) -> dict:
        """StandardRoIHead's losses; with laterals handed over (:meth:`hand_laterals`), the consistent-supervision
        ones join the box (and mask) losses. The laterals are used by this one call."""
        try:
            return super().loss(x, rpn_results_list, batch_data_samples)
        finally:
            self._laterals = None

    def bbox_loss(self, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        """StandardRoIHead's, plus the auxiliary box losses on the laterals for the main head's RoIs and
        targets (recomputed from the same sampling results: StandardRoIHead does not return them)."""
        bbox_results = super().bbox_loss(x, sampling_results)
        if self._laterals is not None and self.with_cs:
            rois = bbox2roi([res.priors for res in sampling_results])
            targets = self.bbox_head.get_targets(sampling_results, self.train_cfg)
            bbox_results["loss_bbox"].update(self.cs_bbox_loss(self._laterals, rois, targets))
        return bbox_results

    def mask_loss(self, x: Tuple[Tensor], sampling_results: List[SamplingResult], bbox_feats: Tensor,
                  batch_gt_instances: InstanceList) -> dict:
        """StandardRoIHead's, plus the auxiliary mask losses on the laterals for the main head's targets."""
        mask_results = super().mask_loss(x, sampling_results, bbox_feats, batch_gt_instances)
        if self._laterals is not None and self.with_cs:
            targets = self.mask_head.get_targets(sampling_results, batch_gt_instances, self.train_cfg)
            mask_results["loss_mask"].update(self.cs_mask_loss(self._laterals, sampling_results, targets))
        return mask_results

    def cs_bbox_loss(self, cs_feats: Sequence[Tensor], rois: Tensor, bbox_targets: tuple) -> Dict[str, Tensor]:
        """``weight × (cls + reg)`` of the auxiliary box head on every lateral, for the main head's targets."""
        losses: Dict[str, Tensor] = {}
        for level, roi_feats in zip(self.cs_levels, self.cs_bbox_roi_extractor(cs_feats, rois)):
            cls_score, bbox_pred = self.cs_bbox_head(roi_feats)
            level_losses = self.cs_bbox_head.loss(cls_score, bbox_pred, rois, *bbox_targets)
            losses.update(self._weighted(level_losses, level))
        return losses

    def cs_mask_loss(self, cs_feats: Sequence[Tensor], sampling_results: List[SamplingResult],
                     mask_targets: Tensor) -> Dict[str, Tensor]:
        """``weight × loss_mask`` of the auxiliary mask head on every lateral (positive RoIs, main targets)."""
        pos_rois = bbox2roi([res.pos_priors for res in sampling_results])
        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        if self.cs_mask_head.class_agnostic:
            pos_labels = torch.zeros_like(pos_labels)
        losses: Dict[str, Tensor] = {}
        for level, roi_feats in zip(self.cs_levels, self.cs_mask_roi_extractor(cs_feats, pos_rois)):
            mask_preds = self.cs_mask_head(roi_feats)
            loss = mask_preds.sum() if mask_preds.size(0) == 0 else \
                self.cs_mask_head.loss_mask(mask_preds, mask_targets, pos_labels)
            losses.update(self._weighted({"loss_mask": loss}, level))
        return losses

    def _weighted(self, level_losses: Dict[str, Tensor], level: int) -> Dict[str, Tensor]:
        """``loss_cls`` → ``loss_cls_cs_p{level}`` × weight; metrics (``acc``) renamed, not weighted."""
        return {f"{key}_cs_p{level}": value * self.cs_weight if "loss" in key else value
                for key, value in level_losses.items()}
