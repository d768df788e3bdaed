"""The synthetic dataset: COCO-valid, masks as painted, scales and classes spread, seeded, written atomically."""
import hashlib
import json

import numpy as np
import pytest
from matplotlib.path import Path as PolygonPath
from PIL import Image
from pycocotools.coco import COCO

from necksearch.data import (AREA_RANGES, CLASSES, dataset_stats, default_root, ensure_synthetic_coco,
                             make_synthetic_coco, synth)
from necksearch.data.scene import DENSE_STYLE, MIN_VISIBLE, render_scene
from necksearch.errors import NeckSearchError
from tests.data.conftest import SMALL

TINY = dict(num_train=3, num_val=2, image_hw=(96, 128))


def load(root, split="train"):
    return COCO(str(root / "annotations" / f"instances_{split}.json"))


def redraw(index, split_index=0):
    """Image ``index`` of the fixture's split drawn again by the generator: pixels and objects."""
    return render_scene(np.random.default_rng([SMALL["seed"], split_index, index]), SMALL["image_hw"])


def centre_render(polygon, hw):
    """An independent rasterizer: the pixels whose centres lie inside the polygon."""
    y, x = np.mgrid[:hw[0], :hw[1]]
    centres = np.stack([x.ravel() + 0.5, y.ravel() + 0.5], axis=1)
    return PolygonPath(np.reshape(polygon, (-1, 2))).contains_points(centres).reshape(hw)


def test_layout_counts_and_stamp(synth_root):
    assert sorted(p.name for p in synth_root.iterdir()) == ["annotations", "synth.json", "train", "val"]
    assert len(list((synth_root / "train").glob("*.png"))) == SMALL["num_train"]
    assert len(list((synth_root / "val").glob("*.png"))) == SMALL["num_val"]
    stamp = json.loads((synth_root / "synth.json").read_text())
    assert stamp == synth.make_stamp(**SMALL) and stamp["classes"] == list(CLASSES)
    assert "style" not in stamp  # the shapes' stamp is the one written before styles existed: no regeneration
    coco = load(synth_root, "val")
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(CLASSES)
    assert all(img["height"] == 320 and img["width"] == 320 for img in coco.dataset["images"])


@pytest.mark.parametrize("index", range(0, 48, 6))
def test_masks_boxes_areas_are_the_painted_pixels(synth_root, index):
    coco = load(synth_root)
    pixels, instances = redraw(index)
    stored = np.asarray(Image.open(synth_root / "train" / f"{index:06d}.png"))
    assert np.array_equal(stored, pixels)
    anns = coco.loadAnns(coco.getAnnIds(imgIds=index + 1))
    assert [CLASSES[a["category_id"] - 1] for a in anns] == [i.category for i in instances]
    for ann, instance in zip(anns, instances):
        mask = coco.annToMask(ann).astype(bool)
        assert np.array_equal(mask, instance.visible)
        ys, xs = np.nonzero(mask)
        x, y, w, h = ann["bbox"]
        assert np.allclose([x, y, x + w - 1, y + h - 1], [xs.min(), ys.min(), xs.max(), ys.max()], atol=1)
        assert abs(ann["area"] - mask.sum()) <= 0.02 * mask.sum() and ann["iscrowd"] == 0
        assert instance.visible.sum() >= MIN_VISIBLE * instance.full.sum()


def test_masks_agree_with_an_independent_render_of_the_outlines(synth_root):
    """Outlines redrawn by pixel centres and composited in painting order match the stored masks."""
    coco, hw = load(synth_root), SMALL["image_hw"]
    for index in range(0, 48, 4):
        _, instances = redraw(index)
        fulls = [centre_render(i.placed.outer, hw) & ~(centre_render(i.placed.hole, hw) if i.placed.hole else False)
                 for i in instances]
        for k, ann in enumerate(coco.loadAnns(coco.getAnnIds(imgIds=index + 1))):
            visible = fulls[k] & ~np.any(fulls[k + 1:], axis=0) if k + 1 < len(fulls) else fulls[k]
            mask = coco.annToMask(ann).astype(bool)
            iou = (mask & visible).sum() / (mask | visible).sum()
            assert iou >= (0.95 if ann["area"] >= 32 ** 2 else 0.9), (index, k, iou)


def test_polygons_for_whole_shapes_rle_for_occluded_ones_and_rings(synth_root):
    anns = load(synth_root).dataset["annotations"]
    kinds = {(CLASSES[a["category_id"] - 1] == "ring", isinstance(a["segmentation"], list)) for a in anns}
    assert kinds == {(False, True), (False, False), (True, False)}


def test_scales_cover_coco_small_medium_large(synth_root):
    stats = dataset_stats(synth_root / "annotations" / "instances_train.json")
    shares = {name: count / stats["objects"] for name, count in stats["per_size"].items()}
    assert list(shares) == list(AREA_RANGES) and min(shares.values()) >= 0.15, shares
    areas = [a["area"] for a in load(synth_root).dataset["annotations"]]
    assert min(areas) < 10 ** 2 and max(areas) > 150 ** 2


def test_classes_balanced_and_not_told_by_colour(synth_root):
    counts = [dataset_stats(synth_root / "annotations" / f"instances_{s}.json")["per_category"] for s in synth.SPLITS]
    totals = [counts[0][name] + counts[1][name] for name in CLASSES]
    assert max(totals) <= 2 * min(totals), totals
    coco = load(synth_root)
    means = {name: [] for name in CLASSES}
    for ann in coco.dataset["annotations"]:
        pixels = np.asarray(Image.open(synth_root / "train" / f"{ann['image_id'] - 1:06d}.png"))
        means[CLASSES[ann["category_id"] - 1]].append(pixels[coco.annToMask(ann).astype(bool)].mean(axis=0))
    assert all(np.std(means[name], axis=0).mean() > 35 for name in CLASSES)


def test_background_is_cluttered(synth_root):
    coco = load(synth_root)
    for index in range(4):
        pixels = np.asarray(Image.open(synth_root / "train" / f"{index:06d}.png")).astype(float)
        objects = np.any([coco.annToMask(a) for a in coco.loadAnns(coco.getAnnIds(imgIds=index + 1))], axis=0)
        assert pixels[~objects].std(axis=0).mean() > 8


def test_the_shapes_style_draws_what_the_generator_drew_before_styles():
    """Pins the default data's bytes to GENERATOR_VERSION 1: the fingerprint of images 0-5 of seed 0's train split
    (pixels, classes and visible areas) as drawn before ``SceneStyle`` existed (2026-12-07). If this fails, the
    same seed draws different data: bump GENERATOR_VERSION and the fingerprint together."""
    digest = hashlib.sha256()
    for index in range(6):
        pixels, instances = render_scene(np.random.default_rng([0, 0, index]), (320, 320))
        digest.update(pixels.tobytes())
        digest.update(repr([(i.category, int(i.visible.sum())) for i in instances]).encode())
    assert synth.GENERATOR_VERSION == 1
    assert digest.hexdigest() == "ceba321be6356dd5dc94300f40a056a7d0c9ab6dab77c3fcb024905cb3961b85"


def test_dense_style_matches_the_tree_crowns_density_and_box_sides(tmp_path):
    """One class; 10-20 objects an image (fewer only when placement fails); box sides at 128² close to the NEON
    crowns' 11 / 18 / 28 px (10th / 50th / 90th percentile, transfer_trees.json ``object_shapes``); masks are
    still the painted pixels."""
    root = make_synthetic_coco(tmp_path / "dense", seed=0, num_train=24, num_val=2, style="dense")
    coco = load(root)
    assert [c["name"] for c in coco.dataset["categories"]] == ["object"]
    assert {a["category_id"] for a in coco.dataset["annotations"]} == {1}
    per_image = [len(coco.getAnnIds(imgIds=image_id)) for image_id in coco.getImgIds()]
    assert max(per_image) <= 20 and min(per_image) >= 8 and 12 <= np.mean(per_image) <= 18, per_image
    sides = np.sqrt([a["bbox"][2] * a["bbox"][3] for a in coco.dataset["annotations"]]) * 128 / 320
    p10, p50, p90 = np.percentile(sides, [10, 50, 90])
    assert 9 <= p10 <= 14 and 15 <= p50 <= 22 and 24 <= p90 <= 33, (p10, p50, p90)
    pixels, instances = render_scene(np.random.default_rng([0, 0, 3]), (320, 320), DENSE_STYLE)
    assert np.array_equal(np.asarray(Image.open(root / "train" / "000003.png")), pixels)
    anns = coco.loadAnns(coco.getAnnIds(imgIds=4))
    assert len(anns) == len(instances) >= 10
    for ann, instance in zip(anns, instances):
        assert np.array_equal(coco.annToMask(ann).astype(bool), instance.visible)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    roots = [make_synthetic_coco(tmp_path / name, seed=seed, **TINY) for name, seed in (("a", 7), ("b", 7), ("c", 8))]
    files = ["annotations/instances_train.json", "annotations/instances_val.json", "synth.json"]
    assert all((roots[0] / f).read_bytes() == (roots[1] / f).read_bytes() for f in files)
    assert (roots[0] / files[0]).read_bytes() != (roots[2] / files[0]).read_bytes()
    for png in sorted((roots[0] / "val").glob("*.png")):
        same, other = (np.asarray(Image.open(root / "val" / png.name)) for root in roots[1:])
        assert np.array_equal(np.asarray(Image.open(png)), same) and not np.array_equal(same, other)


def test_refuses_a_non_empty_dir_unless_forced(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(NeckSearchError, match=str(out)):
        make_synthetic_coco(out, **TINY)
    assert (out / "mine.txt").exists()
    assert make_synthetic_coco(out, force=True, **TINY) == out
    assert not (out / "mine.txt").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_failure_leaves_no_half_dataset(tmp_path, monkeypatch):
    def broken(rng, hw, style):
        raise KeyboardInterrupt
    monkeypatch.setattr(synth, "render_scene", broken)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_coco(tmp_path / "ds", **TINY)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad, message", [
    (dict(seed=-1), "seed must be at least 0, got -1"),
    (dict(num_train=0), "got 0 and 2"),
    (dict(image_hw=(32, 128)), "got (32, 128)"),
    (dict(image_hw=(96, 128, 3)), "got (96, 128, 3)"),
    (dict(style="crowns"), "unknown synthetic style 'crowns' (known: shapes, dense)"),
])
def test_bad_arguments_name_the_value(tmp_path, bad, message):
    with pytest.raises(NeckSearchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_synthetic_coco(tmp_path / "ds", **{**TINY, **bad})
    assert list(tmp_path.iterdir()) == []


def test_ensure_generates_once_then_reuses_and_regenerates_on_a_new_stamp(tmp_path, monkeypatch):
    root = tmp_path / "synth"
    assert ensure_synthetic_coco(root, **TINY) == root
    written = (root / "annotations" / "instances_train.json").stat().st_mtime_ns
    monkeypatch.setattr(synth, "_write", lambda *a: pytest.fail("regenerated a matching dataset"))
    assert ensure_synthetic_coco(root, **TINY) == root
    monkeypatch.undo()
    ensure_synthetic_coco(root, seed=1, **TINY)
    assert json.loads((root / "synth.json").read_text())["seed"] == 1
    assert (root / "annotations" / "instances_train.json").stat().st_mtime_ns != written


def test_ensure_never_overwrites_a_foreign_dir(tmp_path):
    (tmp_path / "synth").mkdir()
    (tmp_path / "synth" / "notes.txt").write_text("mine")
    with pytest.raises(NeckSearchError, match="not empty"):
        ensure_synthetic_coco(tmp_path / "synth", **TINY)


def test_default_root_is_the_git_ignored_data_dir():
    root = default_root()
    assert root.parts[-2:] == ("data", "synth") and (root.parents[1] / "pyproject.toml").is_file()
    assert "/data/" in (root.parents[1] / ".gitignore").read_text().split()
