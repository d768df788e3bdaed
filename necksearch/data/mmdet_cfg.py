"""MMDetection 3.x dataset and evaluator settings for the synthetic dataset, as plain dicts (mmdet not imported)."""
from __future__ import annotations

from pathlib import Path
from typing import Union

from necksearch.data.shapes import CLASSES


def synthetic_dataset_cfg(root: Union[str, Path]) -> dict:
    """``CocoDataset`` settings for the train and val splits at ``root``, and a bbox + segm ``CocoMetric``.

    Returns ``dict(metainfo, data_root, train, val, val_evaluator)``; ``train`` and ``val`` lack only a
    ``pipeline``. Keep ``LoadAnnotations(poly2mask=True)`` (the default): occluded objects are RLE masks.
    """
    root = Path(root)
    return {
        "metainfo": {"classes": CLASSES},
        "data_root": str(root),
        "train": _split(root, "train", filter_cfg={"filter_empty_gt": True, "min_size": 32}),
        "val": _split(root, "val", test_mode=True),
        "val_evaluator": {"type": "CocoMetric", "ann_file": str(root / "annotations" / "instances_val.json"),
                          "metric": ["bbox", "segm"], "format_only": False},
    }


def _split(root: Path, split: str, **extra) -> dict:
    return {"type": "CocoDataset", "data_root": str(root), "metainfo": {"classes": CLASSES},
            "ann_file": f"annotations/instances_{split}.json", "data_prefix": {"img": f"{split}/"}, **extra}
