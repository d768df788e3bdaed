"""The tree-crown dataset: COCO-valid tiles of deepforest's NEON images, every box the clipped crown that the
rule keeps, split by source image, the same bytes every time, written whole; each mistake names its culprit."""
import functools
import importlib.metadata
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from necksearch.data import make_trees_coco, trees
from necksearch.errors import NeckSearchError

SPLITS = ("train", "val")
#: Crowns per source image, as the issue counts them.
CROWNS = {"2019_YELL_2_528000_4978000_image_crop2": 574, "OSBS_029": 61,
          "2019_YELL_2_541000_4977000_image_crop": 279, "SOAP_061": 37}


@pytest.fixture(scope="module")
def trees_root(tmp_path_factory):
    return make_trees_coco(tmp_path_factory.mktemp("trees") / "ds")


def load(root, split):
    return COCO(str(root / "annotations" / f"instances_{split}.json"))


def package_file(name):
    return Path(importlib.metadata.distribution("deepforest").locate_file(f"deepforest/data/{name}"))


@functools.lru_cache(maxsize=None)
def crowns(stem):
    """The source image's boxes (x0, y0, x1, y1), read here without the module's parser."""
    root = ET.parse(package_file(f"{stem}.xml")).getroot()
    return [tuple(int(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
            for obj in root.findall("object")]


def offset(image):
    x, y = re.fullmatch(r".+_x(\d{4})_y(\d{4})\.png", image["file_name"]).groups()
    return int(x), int(y)


def kept_by_the_rule(boxes, x, y, width, height):
    """The issue's rule, written out: a crown clipped to the tile stays if it keeps >= 40% of its area and
    both sides >= 4 px; as COCO boxes in tile coordinates."""
    kept = []
    for x0, y0, x1, y1 in boxes:
        w, h = min(x1, x + width) - max(x0, x), min(y1, y + height) - max(y0, y)
        if w >= 4 and h >= 4 and 5 * w * h >= 2 * (x1 - x0) * (y1 - y0):  # >= 40%, in exact integers
            kept.append([max(x0, x) - x, max(y0, y) - y, w, h])
    return sorted(kept)


def test_layout_and_the_coco_fields_mmdet_and_pycocotools_read(trees_root):
    assert sorted(p.name for p in trees_root.iterdir()) == ["annotations", "train", "val"]
    for split in SPLITS:
        coco = load(trees_root, split)
        assert coco.dataset["categories"] == [{"id": 1, "name": "tree", "supercategory": "plant"}]
        assert "NEON" in coco.dataset["info"]["contributor"] and coco.dataset["info"]["version"] == "deepforest 2.1.0"
        assert [lic["name"].split(" ")[0] for lic in coco.dataset["licenses"]] == ["CC0", "MIT:"]
        assert sorted(p.name for p in (trees_root / split).iterdir()) == sorted(i["file_name"] for i in coco.dataset["images"])
        for image in coco.dataset["images"]:
            assert Image.open(trees_root / split / image["file_name"]).size == (image["width"], image["height"])
        for ann in coco.dataset["annotations"]:
            assert ann["iscrowd"] == 0 and ann["category_id"] == 1 and ann["area"] == ann["bbox"][2] * ann["bbox"][3]
            assert "segmentation" not in ann


def test_counts_per_split(trees_root):
    """Measured with the defaults (256-px tiles, overlap >= 110 px); empty tiles stay out of train."""
    cocos = {split: load(trees_root, split) for split in SPLITS}
    counts = {split: (len(coco.dataset["images"]), len(coco.dataset["annotations"])) for split, coco in cocos.items()}
    assert counts == {"train": (233, 1898), "val": (60, 865)}
    assert all(cocos["train"].getAnnIds(imgIds=image_id) for image_id in cocos["train"].getImgIds())


def test_each_box_is_a_crown_clipped_to_its_tile_and_kept_by_the_rule(trees_root):
    for split in SPLITS:
        coco = load(trees_root, split)
        for image in coco.dataset["images"]:
            stem = image["source"].removesuffix(".png")
            anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
            boxes = sorted(a["bbox"] for a in anns)
            assert boxes == kept_by_the_rule(crowns(stem), *offset(image), image["width"], image["height"])
            for x, y, w, h in boxes:
                assert 0 <= x and x + w <= image["width"] and 0 <= y and y + h <= image["height"] and min(w, h) >= 4


def test_every_crown_is_whole_in_some_tile(trees_root):
    for split in SPLITS:
        coco = load(trees_root, split)
        for stem in trees.SPLITS[split]:
            whole = set()
            for image in coco.dataset["images"]:
                if image["source"] == f"{stem}.png":
                    x, y = offset(image)
                    whole |= {(bx + x, by + y, bx + x + w, by + y + h)
                              for bx, by, w, h in (a["bbox"] for a in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])))}
            assert len(crowns(stem)) == CROWNS[stem] and set(crowns(stem)) <= whole


def test_no_source_image_is_in_both_splits(trees_root):
    sources = {split: {image["source"] for image in load(trees_root, split).dataset["images"]} for split in SPLITS}
    assert sources == {split: {f"{stem}.png" for stem in trees.SPLITS[split]} for split in SPLITS}
    assert not sources["train"] & sources["val"]
    for split in SPLITS:
        for image in load(trees_root, split).dataset["images"]:
            assert image["file_name"].startswith(image["source"].removesuffix(".png") + "_x")


def test_tiles_are_the_source_pixels(trees_root):
    coco = load(trees_root, "val")
    source = np.asarray(Image.open(package_file("2019_YELL_2_541000_4977000_image_crop.png")).convert("RGB"))
    for image in coco.dataset["images"][:16:5]:
        x, y = offset(image)
        tile = np.asarray(Image.open(trees_root / "val" / image["file_name"]))
        assert np.array_equal(tile, source[y:y + image["height"], x:x + image["width"]])


@pytest.mark.parametrize("side, tile, overlap", [(2299, 400, 110), (2472, 400, 110), (1035, 400, 0),
                                                 (400, 400, 110), (300, 400, 110), (1249, 128, 64)])
def test_tile_offsets_span_the_side_with_the_least_overlap(side, tile, overlap):
    offsets = trees.tile_offsets(side, tile, overlap)
    if side <= tile:
        assert offsets == [0]
        return
    gaps = np.diff(offsets)
    assert offsets[0] == 0 and offsets[-1] == side - tile and (gaps > 0).all() and (gaps <= tile - overlap).all()
    assert (len(offsets) - 2) * (tile - overlap) < side - tile   # one offset fewer could not keep the overlap


def test_same_options_same_bytes_and_force_replaces(trees_root, tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "mine.txt").write_text("old")
    assert make_trees_coco(out, force=True) == out
    files = sorted(p.relative_to(trees_root) for p in trees_root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert all((trees_root / f).read_bytes() == (out / f).read_bytes() for f in files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_mmdet_coco_dataset_loads_every_box_of_the_train_split(trees_root):
    from mmdet.datasets import CocoDataset
    dataset = CocoDataset(data_root=str(trees_root), ann_file="annotations/instances_train.json",
                          data_prefix={"img": "train/"}, metainfo={"classes": trees.CLASSES}, pipeline=[],
                          filter_cfg={"filter_empty_gt": True, "min_size": 32})
    coco = load(trees_root, "train")
    assert len(dataset) == len(coco.dataset["images"])
    assert sum(len(dataset.get_data_info(i)["instances"]) for i in range(len(dataset))) == len(coco.dataset["annotations"])


def test_a_missing_package_names_it_and_how_to_install_it(tmp_path, monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    with pytest.raises(NeckSearchError, match=r"'deepforest'.*not installed.*pip install --no-deps deepforest==2\.1\.0"):
        make_trees_coco(tmp_path / "ds")
    assert list(tmp_path.iterdir()) == []


class FakeDistribution:
    """An installed distribution whose files lie under ``root``."""

    def __init__(self, root):
        self.root = root

    def locate_file(self, path):
        return self.root / path


def fake_package(tmp_path, monkeypatch, changed=None):
    """A copy of deepforest's data files (symlinks), ``changed`` one rewritten with a byte more."""
    data = tmp_path / "site" / "deepforest" / "data"
    data.mkdir(parents=True)
    for name in trees.SHA256:
        if name == changed:
            (data / name).write_bytes(package_file(name).read_bytes() + b"\n")
        else:
            (data / name).symlink_to(package_file(name))
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: FakeDistribution(tmp_path / "site"))
    return data


def test_a_missing_file_is_named(tmp_path, monkeypatch):
    data = fake_package(tmp_path, monkeypatch)
    (data / "SOAP_061.xml").unlink()
    with pytest.raises(NeckSearchError, match=re.escape(str(data / "SOAP_061.xml")) + " is missing.*reinstall"):
        make_trees_coco(tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_a_changed_file_is_named(tmp_path, monkeypatch):
    data = fake_package(tmp_path, monkeypatch, changed="OSBS_029.xml")
    with pytest.raises(NeckSearchError, match=re.escape(f"{data / 'OSBS_029.xml'} is not deepforest 2.1.0's")):
        make_trees_coco(tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("options, message", [
    (dict(tile=127), "tile (--tile) must be 128..2472 px, got 127"),
    (dict(tile=2473), "tile (--tile) must be 128..2472 px, got 2473"),
    (dict(overlap=-1), "overlap (--overlap, default 110) must be 0..128 px for a 256 px tile (at most half the tile), "
                       "got -1"),
    (dict(tile=256, overlap=129), "overlap (--overlap, default 110) must be 0..128 px for a 256 px tile (at most half "
                                  "the tile), got 129"),
    (dict(tile=200), "overlap (--overlap, default 110) must be 0..100 px for a 200 px tile (at most half the tile), "
                     "got 110"),
])
def test_options_out_of_range_name_the_option_and_range(tmp_path, options, message):
    with pytest.raises(NeckSearchError, match=re.escape(message)):
        make_trees_coco(tmp_path / "ds", **options)
    assert list(tmp_path.iterdir()) == []


def test_a_non_empty_out_is_kept_unless_forced(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "mine.txt").write_text("keep")
    with pytest.raises(NeckSearchError, match=re.escape(f"{tmp_path / 'ds'} exists and is not empty; pass --force")):
        make_trees_coco(tmp_path / "ds")
    assert [p.name for p in (tmp_path / "ds").iterdir()] == ["mine.txt"]


def test_an_unwritable_out_is_named(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(NeckSearchError, match=re.escape(f"cannot create the directory {tmp_path / 'file' / 'sub'}")):
        make_trees_coco(tmp_path / "file" / "sub" / "ds")


def test_a_failure_leaves_no_half_dataset(tmp_path, monkeypatch):
    def broken(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(trees, "clip_boxes", broken)
    with pytest.raises(KeyboardInterrupt):
        make_trees_coco(tmp_path / "ds")
    assert list(tmp_path.iterdir()) == []


def test_the_proxy_s_dataset_is_reused_as_built_and_tiles_of_another_size_are_refused(tmp_path, trees_root):
    from necksearch.data import ensure_trees_coco
    train = trees_root / "annotations" / "instances_train.json"
    written = train.stat().st_mtime_ns
    assert ensure_trees_coco(trees_root) == trees_root and train.stat().st_mtime_ns == written
    other = make_trees_coco(tmp_path / "other", tile=2472)
    with pytest.raises(NeckSearchError, match=re.escape(f"{other} holds tree tiles of 2472 px overlapping by 110 px")):
        ensure_trees_coco(other)
