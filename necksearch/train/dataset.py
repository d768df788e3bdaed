"""The COCO dataset a training reads: its annotation files checked entry by entry, and the config fitted to them.

:func:`necksearch.train.configs.set_data_root` (``--data DIR``, or the config's own data root) checks every split's
annotation file with :func:`check_ann_file` and fits the config to the splits with :func:`fit_config`, so that a
COCO dataset of one's own (``DIR/annotations/instances_{train,val}.json``, images where the config's
``data_prefix`` puts them: ``DIR/train/``, ``DIR/val/`` for the proxies) trains without a config of its own:

* classes: the training file's categories, as it lists them (mmdet numbers labels in that order, which is id order
  in every file that lists its categories sorted by id), become every dataset's ``metainfo`` classes, and their
  count every ``num_classes`` of the model (the class-agnostic RPN head's aside) and the config's top-level
  ``num_classes`` / ``metainfo`` variables; the other splits must list the same categories in the same order;
* boxes only: unless every annotation has a ``segmentation``, the COCO evaluators score ``bbox`` alone, and a
  config with a mask head is refused (see :func:`fit_config`).

A misfit is a one-line :class:`~necksearch.errors.NeckSearchError` naming the file and the entry.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from necksearch.errors import NeckSearchError

#: How far (px) a box may reach past its image's border: exported annotations round their coordinates.
BORDER_TOLERANCE = 1.0
#: A boxes-only config to name when a mask head meets boxes-only data.
BOX_CONFIG = "proxy/faster-rcnn_effnet-lite0_fpn_synth.py"

Split = Tuple[Path, Dict[str, Any]]


def check_ann_file(path: Path, image_dir: Optional[Path] = None, *, train: bool = False) -> Dict[str, Any]:
    """A COCO annotation file that :func:`read_ann_file` reads and whose entries are sound
    (:func:`check_categories`, :func:`check_images`, :func:`check_annotations`); with ``image_dir``, every image
    file it lists is there; with ``train``, it has annotations to learn from."""
    data = read_ann_file(path)
    if train and not data["annotations"]:
        raise NeckSearchError(f"annotation file {path} has no annotations: a training split needs boxes to learn from")
    names = check_categories(path, data["categories"])
    images = check_images(path, data["images"], image_dir)
    check_annotations(path, data["annotations"], images, names)
    return data


def read_ann_file(path: Path) -> Dict[str, Any]:
    """A COCO annotation file that parses and has images, annotations and categories lists, with at least one
    image; its entries are not checked (:func:`check_ann_file` does that, once, when the data is resolved)."""
    if not path.is_file():
        raise NeckSearchError(f"annotation file {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise NeckSearchError(f"corrupt or truncated annotation file {path}: {err}") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(key), list)
                                             for key in ("images", "annotations", "categories")):
        raise NeckSearchError(f"annotation file {path} is not COCO: it needs images, annotations and categories lists")
    if not data["images"]:
        raise NeckSearchError(f"annotation file {path} has no images")
    return data


def check_categories(path: Path, categories: List[Any]) -> Dict[int, str]:
    """Category id → name, in the file's order: every entry has an integer id and a name of its own (mmdet maps
    classes to ids by name, so a repeated name would leave labels without a class)."""
    names: Dict[int, str] = {}
    for index, category in enumerate(categories):
        cid = category.get("id") if isinstance(category, dict) else None
        if not _is_int(cid):
            raise NeckSearchError(f"{path}: categories[{index}] has no integer id")
        if cid in names:
            raise NeckSearchError(f"{path}: categories[{index}] repeats category id {cid}")
        name = category.get("name")
        if not isinstance(name, str) or not name.strip():
            raise NeckSearchError(f"{path}: category {cid} (categories[{index}]) has no name")
        if name in names.values():
            raise NeckSearchError(f"{path}: category {cid} (categories[{index}]) repeats the name {name!r}")
        names[cid] = name
    return names


def check_images(path: Path, images: List[Any], image_dir: Optional[Path]) -> Dict[int, Dict[str, Any]]:
    """Image id → record: every record has an id of its own, a ``file_name`` and a positive width and height;
    with ``image_dir``, its file exists there."""
    records: Dict[int, Dict[str, Any]] = {}
    for index, image in enumerate(images):
        if not (isinstance(image, dict) and _is_int(image.get("id")) and isinstance(image.get("file_name"), str)
                and image["file_name"] and all(_is_number(image.get(side)) and image[side] > 0
                                               for side in ("width", "height"))):
            raise NeckSearchError(f"{path}: images[{index}] needs an integer id, a file_name and a positive width "
                                  "and height")
        if image["id"] in records:
            raise NeckSearchError(f"{path}: image id {image['id']} is used twice (images[{index}])")
        records[image["id"]] = image
        if image_dir is not None and not os.path.isfile(os.path.join(image_dir, image["file_name"])):
            raise NeckSearchError(f"{path}: image {image['id']} is {image['file_name']}, but "
                                  f"{Path(image_dir) / image['file_name']} does not exist")
    return records


def check_annotations(path: Path, annotations: List[Any], images: Dict[int, Dict[str, Any]],
                      names: Dict[int, str]) -> None:
    """Every annotation has an id of its own, names a listed image and category, and has a box of positive size
    inside its image (:data:`BORDER_TOLERANCE`), an area and an ``iscrowd`` of 0 or 1 (pycocotools' evaluation
    reads it). A zero-size box whose area is 0 too passes: it marks
    itself empty, mmdet skips it, and COCO 2017's own training file has two (on images 200365 and 550395), which
    must not stop the paper recipes."""
    seen = set()
    for index, ann in enumerate(annotations):
        if not (isinstance(ann, dict) and _is_int(ann.get("id")) and _is_int(ann.get("image_id"))
                and _is_int(ann.get("category_id")) and _is_number(ann.get("area"))
                and isinstance(ann.get("bbox"), list) and len(ann["bbox"]) == 4 and all(map(_is_number, ann["bbox"]))):
            raise NeckSearchError(f"{path}: annotations[{index}] needs an integer id, image_id and category_id, "
                                  "a bbox [x, y, width, height] and an area")
        if ann["id"] in seen:
            raise NeckSearchError(f"{path}: annotation id {ann['id']} is used twice (annotations[{index}])")
        if ann.get("iscrowd") not in (0, 1):
            raise NeckSearchError(f"{path}: annotation {ann['id']} needs iscrowd 0 or 1 (COCO's evaluation reads "
                                  f"it), got {ann.get('iscrowd')!r}")
        seen.add(ann["id"])
        image = images.get(ann["image_id"])
        if image is None:
            raise NeckSearchError(f"{path}: annotation {ann['id']} names image_id {ann['image_id']}, "
                                  "which images does not list")
        if ann["category_id"] not in names:
            raise NeckSearchError(f"{_entry(path, ann, image)} has category_id {ann['category_id']}, which "
                                  f"categories does not list (ids {', '.join(map(str, names)) or 'none'})")
        _check_box(path, ann, image)


def _check_box(path: Path, ann: Dict[str, Any], image: Dict[str, Any]) -> None:
    x, y, width, height = ann["bbox"]
    if width < 0 or height < 0 or (min(width, height) == 0 and ann["area"] != 0):
        raise NeckSearchError(f"{_entry(path, ann, image)}: box {ann['bbox']} has a non-positive width or height")
    low, right, bottom = -BORDER_TOLERANCE, image["width"] + BORDER_TOLERANCE, image["height"] + BORDER_TOLERANCE
    if x < low or y < low or x + width > right or y + height > bottom:
        raise NeckSearchError(f"{_entry(path, ann, image)}: box {ann['bbox']} lies outside the "
                              f"{image['width']}×{image['height']} image by more than {BORDER_TOLERANCE:g} px")


def _entry(path: Path, ann: Dict[str, Any], image: Dict[str, Any]) -> str:
    return f"{path}: annotation {ann['id']} (image {image['file_name']})"


def fit_config(cfg, datasets: Sequence[Dict[str, Any]], splits: Sequence[Split]) -> None:
    """Fit ``cfg`` (its loaders' ``datasets``) to the checked annotation ``splits`` (file, data; training first):
    classes and their count from the training file's categories, which the other splits must repeat; boxes-only
    data evaluated on ``bbox`` alone.

    A config with a mask head is refused for data without masks rather than stripped of its head: the detector
    would no longer be the one the config names (the paper recipes' box mAP comes from Mask R-CNN's multi-task
    training), and boxes-only configs exist (:data:`BOX_CONFIG`)."""
    (train_path, train_data), *others = splits
    listed = _category_list(train_data)
    for path, data in others:
        _check_same_categories(path, _category_list(data), train_path, listed)
    classes = tuple(name for _, name in listed)
    for dataset in datasets:
        dataset["metainfo"] = dict(dataset.get("metainfo") or {}, classes=classes)
    if "metainfo" in cfg:
        cfg["metainfo"] = dict(cfg["metainfo"] or {}, classes=classes)
    if "num_classes" in cfg:
        cfg["num_classes"] = len(classes)
    _set_num_classes(cfg["model"], len(classes))
    unmasked = _first_unmasked(splits)
    if unmasked is not None:
        _refuse_mask_head(cfg["model"], *unmasked)
        _evaluate_boxes_only(cfg)


def _category_list(data: Dict[str, Any]) -> List[Tuple[int, str]]:
    return [(category["id"], category["name"]) for category in data["categories"]]


def _check_same_categories(path: Path, listed: List[Tuple[int, str]], train_path: Path,
                           train_listed: List[Tuple[int, str]]) -> None:
    if listed == train_listed:
        return
    index = next((i for i, pair in enumerate(zip(listed, train_listed)) if pair[0] != pair[1]),
                 min(len(listed), len(train_listed)))
    ours, theirs = (_describe(entries, index) for entries in (listed, train_listed))
    raise NeckSearchError(f"{path}: categories[{index}] is {ours} but {train_path.name}'s is {theirs}: "
                          "the splits need the same categories in the same order")


def _describe(entries: List[Tuple[int, str]], index: int) -> str:
    return f"id {entries[index][0]} {entries[index][1]!r}" if index < len(entries) else "missing"


def _set_num_classes(node: Any, count: int) -> None:
    """Every ``num_classes`` under ``node`` (nested dicts and lists) to ``count``, the RPN head's (1: object or
    not) aside."""
    if isinstance(node, (list, tuple)):
        for item in node:
            _set_num_classes(item, count)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "num_classes":
                node[key] = count
            elif key != "rpn_head":
                _set_num_classes(value, count)


def _first_unmasked(splits: Sequence[Split]) -> Optional[Tuple[Path, Dict[str, Any]]]:
    """The first annotation (with its file) that has no ``segmentation``; ``None`` when every one has."""
    return next(((path, ann) for path, data in splits for ann in data["annotations"] if not ann.get("segmentation")),
                None)


def _mask_head(node: Any, where: str = "model") -> Optional[str]:
    """Where ``node`` (a model config) has a mask head, as a dotted path; ``None`` if nowhere."""
    if isinstance(node, dict):
        if node.get("mask_head"):
            return f"{where}.mask_head"
        found = (_mask_head(value, f"{where}.{key}") for key, value in node.items())
        return next((path for path in found if path), None)
    return None


def _refuse_mask_head(model: Dict[str, Any], path: Path, ann: Dict[str, Any]) -> None:
    head = _mask_head(model)
    if head is not None:
        raise NeckSearchError(f"{path}: annotation {ann['id']} has no segmentation, which the config's mask head "
                              f"({head}) trains on: give boxes-only data a config without one, e.g. "
                              f"--config {BOX_CONFIG}")


def _evaluate_boxes_only(cfg) -> None:
    """The COCO evaluators score boxes alone."""
    for key in ("val_evaluator", "test_evaluator"):
        evaluators = cfg.get(key)
        for evaluator in evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]:
            if isinstance(evaluator, dict) and str(evaluator.get("type", "")).endswith("CocoMetric"):
                evaluator["metric"] = "bbox"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
