"""COCO records of synthetic scenes, and the statistics of an annotation file in COCO's size terms.

An object's ``segmentation`` is its polygon when the whole shape is visible and has no hole, and the
compressed RLE of its visible mask otherwise (occluded objects, rings). ``bbox`` is the tight
integer box of the visible mask and ``area`` its pixel count, so both agree with ``COCO.annToMask``.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
from pycocotools import mask as mask_utils

from necksearch.data.scene import Instance, SceneStyle

#: COCO's object size ranges (area in px², ``[low, high)``), as its evaluation uses them.
AREA_RANGES = {"small": (0, 32 ** 2), "medium": (32 ** 2, 96 ** 2), "large": (96 ** 2, float("inf"))}

def categories(style: SceneStyle) -> List[dict]:
    """The COCO categories a synthetic dataset of ``style`` is labelled with (ids from 1)."""
    return [{"id": index + 1, "name": name, "supercategory": "shape"} for index, name in enumerate(style.classes)]


def annotation(instance: Instance, image_id: int, category_id: int) -> dict:
    """The COCO annotation of an object's visible part, without its ``id``."""
    rle = mask_utils.encode(np.asfortranarray(instance.visible, dtype=np.uint8))
    whole = instance.placed.hole is None and np.array_equal(instance.visible, instance.full)
    segmentation = [instance.placed.outer] if whole else {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
    return {"image_id": image_id, "category_id": category_id,
            "bbox": [int(v) for v in mask_utils.toBbox(rle)], "area": int(mask_utils.area(rle)),
            "iscrowd": 0, "segmentation": segmentation}


def image_record(image_id: int, file_name: str, hw) -> dict:
    return {"id": image_id, "file_name": file_name, "height": int(hw[0]), "width": int(hw[1])}


def dataset_json(images: List[dict], annotations: List[dict], info: dict, category_list: List[dict],
                 licenses: Optional[List[dict]] = None) -> str:
    """The annotation file's text: compact, keys in a fixed order, so equal data gives equal bytes.

    ``licenses`` (COCO's list of ``{id, name, url}``) is written only when given.
    """
    head = {"info": info, **({"licenses": licenses} if licenses is not None else {})}
    return json.dumps({**head, "images": images, "annotations": annotations, "categories": category_list},
                      separators=(",", ":"))


def size_class(area: float) -> str:
    return next(name for name, (low, high) in AREA_RANGES.items() if low <= area < high)


def dataset_stats(ann_file: Union[str, Path]) -> Dict[str, object]:
    """Images, objects, objects per category and per COCO size class of one annotation file."""
    data = json.loads(Path(ann_file).read_text(encoding="utf-8"))
    names = {c["id"]: c["name"] for c in data["categories"]}
    anns = data["annotations"]
    sizes = Counter(size_class(a["area"]) for a in anns)
    return {"images": len(data["images"]), "objects": len(anns),
            "per_category": {name: sum(a["category_id"] == cid for a in anns) for cid, name in names.items()},
            "per_size": {name: sizes.get(name, 0) for name in AREA_RANGES}}
