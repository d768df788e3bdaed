"""The MSSA/MSCA Cascade configs train with the paper's augmentation ("Attention-based Feature Aggregation",
Sec. 4.1): every image resized to 1333×800, then a patch of random size cropped."""
from pathlib import Path

import numpy as np
import pytest

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
CONFIGS = ["cascade-mask-rcnn_r50_mssa-fpn_1x_coco.py", "cascade-mask-rcnn_r50_msca-fpn_1x_coco.py"]


def _pipeline(name):
    from mmengine.config import Config
    return Config.fromfile(str(CONFIG_DIR / name)).train_dataloader.dataset.pipeline


@pytest.mark.parametrize("name", CONFIGS)
def test_train_pipeline_resizes_then_crops_a_random_size_patch(name):
    pipeline = _pipeline(name)
    assert [step["type"] for step in pipeline] == ["LoadImageFromFile", "LoadAnnotations", "Resize", "RandomCrop",
                                                   "RandomFlip", "PackDetInputs"]
    assert pipeline[2] == dict(type="Resize", scale=(1333, 800), keep_ratio=True)
    assert pipeline[3]["crop_type"] == "relative_range"


@pytest.mark.parametrize("name", CONFIGS)
def test_the_crop_is_a_random_patch_of_the_resized_image(name):
    """Run the pipeline's Resize + RandomCrop on a 480×640 image with one large box and its mask."""
    from mmcv.transforms import Compose
    from mmdet.registry import TRANSFORMS
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks
    from mmdet.utils import register_all_modules
    register_all_modules()
    resize_and_crop = Compose([TRANSFORMS.build(step) for step in _pipeline(name)[2:4]])
    shapes = set()
    for seed in range(8):
        np.random.seed(seed)
        mask = np.zeros((1, 480, 640), np.uint8)
        mask[0, 40:440, 60:600] = 1
        out = resize_and_crop(dict(img=np.zeros((480, 640, 3), np.uint8), img_shape=(480, 640),
                                   gt_bboxes=HorizontalBoxes(np.array([[60, 40, 600, 440]], np.float32)),
                                   gt_bboxes_labels=np.array([0]), gt_ignore_flags=np.array([False]),
                                   gt_masks=BitmapMasks(mask, 480, 640)))
        h, w = out["img"].shape[:2]
        assert 400 <= h <= 800 and 533 <= w <= 1067 and out["img_shape"] == (h, w)   # 50-100 % of 800×1067
        assert out["gt_masks"].masks.shape[1:] == (h, w)
        x1, y1, x2, y2 = out["gt_bboxes"].numpy()[0]
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        shapes.add((h, w))
    assert len(shapes) == 8                                                          # a random size each time
