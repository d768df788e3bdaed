"""MMDetection reads the synthetic dataset through ``synthetic_dataset_cfg`` and scores it with CocoMetric."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from necksearch.data import CLASSES, synthetic_dataset_cfg

PIPELINE = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True, with_mask=True)]


@pytest.fixture(scope="module")
def mmdet_registered():
    from mmdet.utils import register_all_modules
    register_all_modules()


def test_cfg_is_plain_data_and_importing_it_spares_mmdet():
    code = "import sys, necksearch.data; assert 'mmdet' not in sys.modules and 'mmengine' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
    cfg = synthetic_dataset_cfg("/somewhere")
    assert cfg["metainfo"] == {"classes": CLASSES} and cfg["data_root"] == "/somewhere"
    assert cfg["train"]["ann_file"] == "annotations/instances_train.json"
    assert cfg["val"]["data_prefix"] == {"img": "val/"} and cfg["val"]["test_mode"]
    assert cfg["val_evaluator"]["type"] == "CocoMetric" and cfg["val_evaluator"]["metric"] == ["bbox", "segm"]


def test_coco_dataset_yields_boxes_and_masks(synth_root, mmdet_registered):
    from mmdet.datasets import CocoDataset
    train = {k: v for k, v in synthetic_dataset_cfg(synth_root)["train"].items() if k != "type"}
    dataset = CocoDataset(pipeline=PIPELINE, **train)
    assert len(dataset) == 48 and dataset.metainfo["classes"] == CLASSES
    sample = dataset[0]
    boxes, masks = sample["gt_bboxes"].tensor.numpy(), sample["gt_masks"].to_ndarray()
    assert sample["img"].shape == (320, 320, 3) and len(boxes) == len(masks) == len(sample["gt_bboxes_labels"]) > 0
    for box, mask in zip(boxes, masks):
        ys, xs = np.nonzero(mask)
        assert np.allclose(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    assert not sample["gt_ignore_flags"].any()


def test_coco_metric_scores_the_ground_truth_as_perfect(synth_root, mmdet_registered):
    from mmdet.registry import METRICS
    from pycocotools.coco import COCO
    cfg = synthetic_dataset_cfg(synth_root)
    metric = METRICS.build(cfg["val_evaluator"])
    metric.dataset_meta = cfg["metainfo"]
    coco = COCO(cfg["val_evaluator"]["ann_file"])
    for image_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)], dtype=torch.float32)
        labels = torch.tensor([a["category_id"] - 1 for a in anns])
        masks = torch.from_numpy(np.stack([coco.annToMask(a) for a in anns])).bool()
        pred = dict(bboxes=boxes, scores=torch.ones(len(anns)), labels=labels, masks=masks)
        metric.process({}, [dict(img_id=image_id, ori_shape=(320, 320), pred_instances=pred)])
    scores = metric.evaluate(len(coco.getImgIds()))
    assert scores["coco/bbox_mAP"] == pytest.approx(1.0) and scores["coco/segm_mAP"] == pytest.approx(1.0)
