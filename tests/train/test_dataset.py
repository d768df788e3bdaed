"""``--data DIR``: a COCO dataset of one's own fits the config by itself (classes, class count, a bbox-only metric
for boxes-only data), and what does not fit is refused in one line naming the file and the entry."""
import json
import os
import subprocess
import sys

import pytest

from necksearch.data import make_trees_coco
from necksearch.errors import NeckSearchError
from necksearch.train import MASK_PROXY, Recipe, check_ann_file
from necksearch.train.configs import SCRATCH_CONFIG
from tests.helpers import coco_splits, write_coco
from tests.search.helpers import cli_error


@pytest.fixture(scope="module")
def trees_root(tmp_path_factory):
    return make_trees_coco(tmp_path_factory.mktemp("trees") / "ds")


def train_error(capsys, root, *extra):
    """``necksearch train --data ROOT``'s one error line (exit 2, checked by ``cli_error``)."""
    return cli_error(capsys, "train", *extra, "--data", root, "--work-dir", root / "work")


def spoiled(tmp_path, spoil):
    """The tiny dataset of ``coco_splits`` with ``spoil(splits)`` applied, written under ``tmp_path``."""
    splits = coco_splits()
    spoil(splits)
    return write_coco(tmp_path / "ds", splits)


# ---------------------------------------------------------------- refusals, one per misfit


def test_a_missing_annotation_file(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: None)
    (root / "annotations" / "instances_val.json").unlink()
    assert f"annotation file {root / 'annotations' / 'instances_val.json'} does not exist" in train_error(capsys, root)


def test_a_split_without_images(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: splits["val"].update(images=[], annotations=[]))
    assert f"annotation file {root / 'annotations' / 'instances_val.json'} has no images" in train_error(capsys, root)


def test_a_training_split_without_annotations(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: splits["train"].update(annotations=[]))
    line = train_error(capsys, root)
    assert f"annotation file {root / 'annotations' / 'instances_train.json'} has no annotations" in line


def test_a_category_id_that_categories_does_not_list(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: splits["train"]["annotations"][1].update(category_id=5))
    line = train_error(capsys, root)
    assert (f"{root / 'annotations' / 'instances_train.json'}: annotation 2 (image 2.png) has category_id 5, which "
            "categories does not list (ids 1, 2)") in line


def test_a_category_without_a_name(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: splits["train"]["categories"][1].pop("name"))
    line = train_error(capsys, root)
    assert f"{root / 'annotations' / 'instances_train.json'}: category 2 (categories[1]) has no name" in line


def test_a_repeated_category_name(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: [split["categories"][1].update(name="cat") for split in splits.values()])
    line = train_error(capsys, root)
    assert f"{root / 'annotations' / 'instances_train.json'}: category 2 (categories[1]) repeats the name 'cat'" in line


def test_an_annotation_without_iscrowd(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: splits["val"]["annotations"][0].pop("iscrowd"))
    line = train_error(capsys, root)
    assert f"{root / 'annotations' / 'instances_val.json'}: annotation 1 needs iscrowd 0 or 1" in line


def test_a_box_outside_its_image(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: splits["train"]["annotations"][1].update(bbox=[24, 4, 10, 8]))
    line = train_error(capsys, root)
    assert (f"{root / 'annotations' / 'instances_train.json'}: annotation 2 (image 2.png): box [24, 4, 10, 8] lies "
            "outside the 32×24 image by more than 1 px") in line


def test_a_box_of_negative_width(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: splits["val"]["annotations"][0].update(bbox=[20, 4, -10, 8]))
    line = train_error(capsys, root)
    assert (f"{root / 'annotations' / 'instances_val.json'}: annotation 1 (image 1.png): box [20, 4, -10, 8] has a "
            "non-positive width or height") in line


def test_a_listed_image_file_that_is_absent(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: None)
    (root / "train" / "2.png").unlink()
    line = train_error(capsys, root)
    assert (f"{root / 'annotations' / 'instances_train.json'}: image 2 is 2.png, but {root / 'train' / '2.png'} "
            "does not exist") in line


def test_validation_categories_that_differ_from_training(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: splits["val"]["categories"][1].update(name="wolf"))
    line = train_error(capsys, root)
    assert (f"{root / 'annotations' / 'instances_val.json'}: categories[1] is id 2 'wolf' but instances_train.json's "
            "is id 2 'dog': the splits need the same categories in the same order") in line


def test_a_mask_head_on_boxes_only_data(capsys, tmp_path):
    root = spoiled(tmp_path, lambda splits: None)
    line = train_error(capsys, root, MASK_PROXY)
    assert (f"{root / 'annotations' / 'instances_train.json'}: annotation 1 has no segmentation, which the config's "
            "mask head (model.roi_head.mask_head) trains on") in line and "--config proxy/faster-rcnn" in line


@pytest.mark.parametrize("spoil, message", [
    (lambda data: data["categories"][1].update(id=1), "categories[1] repeats category id 1"),
    (lambda data: data["categories"][1].update(id="2"), "categories[1] has no integer id"),
    (lambda data: data["images"][1].pop("height"), "images[1] needs an integer id, a file_name and a positive"),
    (lambda data: data["images"][1].update(id=1), "image id 1 is used twice (images[1])"),
    (lambda data: data["annotations"][1].pop("area"), "annotations[1] needs an integer id, image_id and category_id"),
    (lambda data: data["annotations"][1].update(bbox=[4, 4, 10]), "annotations[1] needs"),
    (lambda data: data["annotations"][1].update(id=1), "annotation id 1 is used twice (annotations[1])"),
    (lambda data: data["annotations"][1].update(image_id=9), "annotation 2 names image_id 9, which images does not"),
])
def test_a_malformed_entry(tmp_path, spoil, message):
    data = coco_splits()["train"]
    spoil(data)
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(data))
    with pytest.raises(NeckSearchError) as caught:
        check_ann_file(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_box_edges_within_a_pixel_and_declared_empty_boxes_pass(tmp_path):
    """Exported boxes round their edges (1 px of slack); a zero-size box of area 0 marks itself empty (mmdet skips
    it; COCO 2017's training file has two); a zero-size box claiming an area does not."""
    annotations = coco_splits()["train"]["annotations"]
    annotations[0].update(bbox=[-1, 4, 33, 8])
    annotations[1].update(bbox=[4, 4, 0, 8], area=0)
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({**coco_splits()["train"], "annotations": annotations}))
    check_ann_file(path)
    annotations[1].update(area=8)
    path.write_text(json.dumps({**coco_splits()["train"], "annotations": annotations}))
    with pytest.raises(NeckSearchError, match=r"annotation 2 \(image 2.png\): box \[4, 4, 0, 8\] has a non-positive"):
        check_ann_file(path)


# ---------------------------------------------------------------- what the data sets in the config


def test_the_tree_dataset_sets_one_class_and_a_bbox_metric(trees_root):
    cfg = Recipe.resolve(data_root=trees_root).config()
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        assert loader.dataset.metainfo["classes"] == ("tree",)
    assert cfg.model.roi_head.bbox_head.num_classes == 1 and cfg.num_classes == 1
    assert cfg.metainfo["classes"] == ("tree",)
    assert "num_classes" not in cfg.model.rpn_head  # class-agnostic: object or not
    assert cfg.val_evaluator.metric == cfg.test_evaluator.metric == "bbox"


def test_classes_follow_the_categories_and_masks_keep_the_segm_metric(tmp_path):
    """Two categories of sparse ids, every annotation with a polygon: the mask proxy keeps its heads' shapes for two
    classes and its bbox + segm metric."""
    splits = coco_splits()
    for data in splits.values():
        data["categories"] = [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"}]
        for ann in data["annotations"]:
            ann.update(category_id={1: 3, 2: 7}[ann["category_id"]], segmentation=[[4, 4, 14, 4, 14, 12, 4, 12]])
    cfg = Recipe.resolve(MASK_PROXY, data_root=write_coco(tmp_path / "ds", splits)).config()
    assert cfg.train_dataloader.dataset.metainfo["classes"] == ("cat", "dog")
    assert cfg.model.roi_head.bbox_head.num_classes == cfg.model.roi_head.mask_head.num_classes == 2
    assert list(cfg.val_evaluator.metric) == ["bbox", "segm"]


def test_boxes_only_data_is_evaluated_on_boxes_alone(tmp_path):
    config = tmp_path / "segm_metric.py"
    config.write_text(f"_base_ = {str(SCRATCH_CONFIG)!r}\nval_evaluator = dict(metric=['bbox', 'segm'])\n"
                      "test_evaluator = val_evaluator\n")
    cfg = Recipe.resolve(config, data_root=write_coco(tmp_path / "ds", coco_splits())).config()
    assert cfg.val_evaluator.metric == cfg.test_evaluator.metric == "bbox"
    assert cfg.train_dataloader.dataset.metainfo["classes"] == ("cat", "dog")
    assert cfg.model.roi_head.bbox_head.num_classes == 2


@pytest.mark.slow
def test_necksearch_train_on_the_tree_dataset(trees_root, tmp_path):
    """One epoch of 2 iterations (7 of the 71 training tiles, batch 4) at 64 px on the real boxes-only data."""
    work = tmp_path / "work"
    done = subprocess.run([sys.executable, "-m", "necksearch", "train", "--data", str(trees_root), "--epochs", "1",
                           "--image-size", "64", "--data-fraction", "0.1", "--work-dir", str(work)],
                          capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore"))
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((work / "metrics.jsonl").read_text().splitlines()[-1])["metrics"]
    assert "coco/bbox_mAP" in metrics and not any("segm" in key for key in metrics)
