"""Small detectors and synthetic batches for the MMDetection-integration tests (CPU, 128×128 images)."""
from __future__ import annotations

import numpy as np
import torch

R18 = dict(type="ResNet", depth=18, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=1,
           norm_cfg=dict(type="BN", requires_grad=True), norm_eval=True, style="pytorch")
R18_WIDTHS = [64, 128, 256, 512]
NUM_CLASSES = 3
IMAGE = 128


def registered():
    """mmdet's modules plus ours, registered; returns (MODELS, necksearch.mmdet)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    import necksearch.mmdet as ns_mmdet
    return MODELS, ns_mmdet


def small_config(graph, base="mask_rcnn", out_channels=64, **kwargs):
    """detector_from_graph on ResNet-18 (no pretrained weights) with small heads and few RoIs."""
    _, ns_mmdet = registered()
    cfg = ns_mmdet.detector_from_graph(graph, base, backbone=R18, out_channels=out_channels,
                                       num_classes=NUM_CLASSES, **kwargs)
    cfg.rpn_head.feat_channels = 32
    cfg.roi_head.bbox_head.fc_out_channels = 64
    if cfg.roi_head.get("mask_head") is not None:
        cfg.roi_head.mask_head.conv_out_channels = 16
    cfg.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    cfg.train_cfg.rcnn.sampler.num = 64
    cfg.test_cfg.rpn.update(nms_pre=100, max_per_img=50)
    cfg.test_cfg.rcnn.update(max_per_img=10, score_thr=0.0)
    return cfg


def build(cfg, **overrides):
    models, _ = registered()
    return models.build({**cfg, **overrides})


def batch(num_images=2, size=IMAGE, masks=True, seed=0):
    """Images (0..255) and DetDataSamples with 3 random gt boxes, labels and box-shaped BitmapMasks each."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(seed)
    images = list(torch.rand(num_images, 3, size, size, generator=g) * 255)
    samples = []
    for _ in range(num_images):
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                                             scale_factor=(1.0, 1.0)))
        corner = torch.rand(3, 2, generator=g) * size * 0.5
        extent = torch.rand(3, 2, generator=g) * size * 0.4 + 16
        boxes = torch.cat([corner, (corner + extent).clamp(max=size - 1)], dim=1)
        instances = InstanceData(bboxes=boxes, labels=torch.randint(0, NUM_CLASSES, (3,), generator=g))
        if masks:
            bitmaps = np.zeros((3, size, size), np.uint8)
            for j, (x1, y1, x2, y2) in enumerate(boxes.int().tolist()):
                bitmaps[j, y1:y2, x1:x2] = 1
            instances.masks = BitmapMasks(bitmaps, size, size)
        sample.gt_instances = instances
        samples.append(sample)
    return images, samples


def preprocess(model, training, **kwargs):
    images, samples = batch(masks=model.with_mask if hasattr(model, "with_mask") else True, **kwargs)
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), training)
