"""Real imagery: NEON aerial tree crowns (DeepForest's sample data) as a tiled COCO detection dataset.

Source. The registry package ``deepforest`` 2.1.0 (MIT licence) ships, in ``deepforest/data/``, RGB
orthophotos of NEON's Airborne Observation Platform camera (10 cm/px, data product DP3.30010.001, which
NEON released under CC0 1.0; NEON's data products moved to CC BY 4.0 on 2026-06-30, NEON's blog of 2026-06-23,
so the dataset's ``licenses`` ask for attribution to NEON either way) with a Pascal VOC box per tree crown. They are read as files of the
installed distribution (``importlib.metadata``), never imported: scripts/setup installs the package
without its dependencies. Each file's SHA-256 must match :data:`SHA256` (deepforest 2.1.0's)::

    image (.png + .xml)                       pixels      crowns  site                          split
    2019_YELL_2_528000_4978000_image_crop2    2299×2472    574    Yellowstone Northern Range, WY  train
    OSBS_029                                   400×400      61    Ordway-Swisher, FL              train
    2019_YELL_2_541000_4977000_image_crop     1249×1035    279    Yellowstone, 13 km east         val
    SOAP_061                                   400×400      37    Soaproot Saddle, CA             val

Crown boxes are 8–108 px on a side (median about 38 px). One category, ``tree`` (id 1): SOAP_061's
``Alive`` and ``Dead`` labels both become ``tree``. Boxes only (no segmentation).

Split, by source image, so no tree (and no pixel) is in both splits: training gets the largest image
and a Florida one; validation gets another 1 km NEON tile of Yellowstone, 13 km from the training one
(the same site, ground never seen), and a Californian site that training never sees. Validation thus
measures generalisation to new ground and to a new site, not recall of trained crowns.

Tiles. Each image is cut into ``tile`` × ``tile`` windows (default 256, chosen by measurement: the tree proxy
resizes a tile to 128², which halves the crowns to a median of ~19 px, and fpn reached bbox mAP 0.092 in 6
epochs there against 0.054 with 400-px tiles, whose crowns shrink to a third; benchmarks/results/transfer_trees.md),
their offsets spread evenly from 0 to
side − tile, as few as keep neighbours overlapping by at least ``overlap`` px (default 110, at least the
largest crown's 108 px: any stretch of at most ``overlap`` px lies inside one window per axis, so every
crown is whole in some tile). An image side not longer than ``tile`` is one window of that side.
Ranges: ``tile`` 128..2472 (above the largest crown; 2472 px is the largest image side, beyond which
nothing changes), ``overlap`` 0..tile/2 (the stride stays at least half a tile).

Boxes in a tile are clipped to it; a clipped box is kept when it keeps at least 40% of its area
(:data:`MIN_KEPT`) and both sides at least 4 px (:data:`MIN_SIDE`), and is dropped otherwise: a sliver
of a crown is no object to learn or to find, and the crown is whole in a neighbouring tile. Training
keeps only tiles with a box (an empty tile has nothing to learn from, and mmdet's ``filter_empty_gt``
would drop it); validation keeps every tile, since detections on treeless ground are false positives
that COCO's evaluation counts.

Layout, as the synthetic dataset's: ``DIR/annotations/instances_{train,val}.json`` and
``DIR/{train,val}/STEM_xX_yY.png`` (X, Y: the tile's offset in the source image, which image records
also name as ``source``). The annotation files' ``info`` and ``licenses`` cite the sources. The same
options write the same bytes; the dataset is written beside ``DIR`` and renamed into place when whole.

Training on it needs no config of its own: ``necksearch train|search|fidelity --data DIR`` takes its one class
from the annotations and, as it has no masks, trains and evaluates boxes alone (:mod:`necksearch.train.dataset`).
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
from PIL import Image

from necksearch.data.coco import dataset_json, image_record
from necksearch.errors import NeckSearchError
from necksearch.files import dir_written_whole

PACKAGE, VERSION, DATA_DIR = "deepforest", "2.1.0", "deepforest/data"
INSTALL = f"pip install --no-deps {PACKAGE}=={VERSION}"
DEFAULT_TILE = 256
DEFAULT_OVERLAP = 110
TILE_RANGE = (128, 2472)
MIN_KEPT = 0.4       # a clipped box keeps at least this share of its area ...
MIN_SIDE = 4         # ... and both sides at least this many px, or it is dropped
CLASSES = ("tree",)
CATEGORIES = [{"id": 1, "name": "tree", "supercategory": "plant"}]

#: Source images (file stems) of each split, in the order they are tiled.
SPLITS: Dict[str, Tuple[str, ...]] = {
    "train": ("2019_YELL_2_528000_4978000_image_crop2", "OSBS_029"),
    "val": ("2019_YELL_2_541000_4977000_image_crop", "SOAP_061"),
}

#: SHA-256 of the files in deepforest 2.1.0's ``deepforest/data/``.
SHA256 = {
    "2019_YELL_2_528000_4978000_image_crop2.png": "a9bdb0f4447fdd899d22f567e0e20ba8320c5413b2ad0cd0ac8d9f3b6e0f9767",
    "2019_YELL_2_528000_4978000_image_crop2.xml": "bd431af6a5086d721eb731b22f5ea28cd8a8eab06883efc1c665391acbc68e11",
    "OSBS_029.png": "d9477c6a00e4902c7bee487d4c5582c3b8b9a2f77f3908a29628b816b291e6ee",
    "OSBS_029.xml": "1f68c4011d7b351c29ca755072e77f3d16e6fd1f995bd05a9dd4eb952b55373c",
    "2019_YELL_2_541000_4977000_image_crop.png": "178e58a23cc2642226a364a30f71bd9258ddc1b012c826f12250914a90c7a131",
    "2019_YELL_2_541000_4977000_image_crop.xml": "cefe4b96888bacbf8af1674f000082e549aa707aa6590d545effb23e43f26631",
    "SOAP_061.png": "256508f1a62149bec4a80879077a865caf50e8cace095e6564c76befa480d424",
    "SOAP_061.xml": "4833280af75fd9c47965a93e38945282835e9e725cac412bdb9469d63480947c",
}

INFO = {
    "description": "NEON aerial RGB tree crowns from the deepforest package's sample data, tiled by necksearch",
    "url": "https://github.com/weecology/DeepForest",
    "version": f"{PACKAGE} {VERSION}",
    "contributor": "imagery: National Ecological Observatory Network (NEON, NSF, operated by Battelle); "
                   "crown boxes: the DeepForest authors (Weecology lab)",
}
LICENSES = [
    {"id": 1, "name": "CC0 1.0 (NEON data usage policy when the 2019 flights were released; NEON data products "
                      "are licensed CC BY 4.0 from 2026-06-30, so attribute NEON): the imagery, NEON AOP camera "
                      "orthophotos DP3.30010.001",
     "url": "https://www.neonscience.org/data-samples/data-policies-citation"},
    {"id": 2, "name": "MIT: the deepforest package, its crown annotations and its copies of the images",
     "url": "https://github.com/weecology/DeepForest/blob/main/LICENSE"},
]

PathLike = Union[str, Path]


def make_trees_coco(out_dir: PathLike, tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP,
                    force: bool = False) -> Path:
    """Write the dataset to ``out_dir`` and return it; a non-empty ``out_dir`` is replaced only with ``force``."""
    out = Path(out_dir)
    check_options(tile, overlap)
    files = source_files()
    with dir_written_whole(out, force) as temp:
        (temp / "annotations").mkdir()
        for split, stems in SPLITS.items():
            text = _write_split(temp, split, stems, files, tile, overlap)
            (temp / "annotations" / f"instances_{split}.json").write_text(text, encoding="utf-8")
    return out


def ensure_trees_coco(root: Optional[PathLike] = None) -> Path:
    """The dataset at ``root`` (default ``data/trees`` beside ``data/synth``), built with the default tiles unless it
    has its training annotations; one built with other tiles or overlap is refused. Concurrent callers wait on a lock
    file beside ``root``."""
    from necksearch.data.synth import default_root
    root = Path(root) if root is not None else default_root().with_name("trees")
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        train = root / "annotations" / "instances_train.json"
        if not train.is_file():
            return make_trees_coco(root)
        info = json.loads(train.read_text(encoding="utf-8")).get("info", {})
        if (info.get("tile"), info.get("overlap")) != (DEFAULT_TILE, DEFAULT_OVERLAP):
            raise NeckSearchError(f"{root} holds tree tiles of {info.get('tile')} px overlapping by "
                                  f"{info.get('overlap')} px, not the tree proxy's {DEFAULT_TILE} px by "
                                  f"{DEFAULT_OVERLAP}: remove it to have it rebuilt, or give --data {root} to train on it")
        return root


def check_options(tile: int, overlap: int) -> None:
    """The ranges of the module docstring: ``tile`` 128..2472 px, ``overlap`` 0..tile/2."""
    low, high = TILE_RANGE
    if not low <= tile <= high:
        raise NeckSearchError(f"tile (--tile) must be {low}..{high} px, got {tile}")
    if not 0 <= overlap <= tile // 2:
        raise NeckSearchError(f"overlap (--overlap, default {DEFAULT_OVERLAP}) must be 0..{tile // 2} px for a {tile} px "
                              f"tile (at most half the tile), got {overlap}")


def source_files() -> Dict[str, Path]:
    """The path of each file of :data:`SHA256` in the installed package, each checked to be there and unchanged."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise NeckSearchError(f"the package {PACKAGE!r} (it ships the tree images) is not installed; "
                              f"install it without its dependencies: {INSTALL} (scripts/setup does)") from None
    files = {name: Path(dist.locate_file(f"{DATA_DIR}/{name}")) for name in SHA256}
    for name, path in files.items():
        _check_file(name, path)
    return files


def _check_file(name: str, path: Path) -> None:
    if not path.is_file():
        raise NeckSearchError(f"{path} is missing: the {PACKAGE} package lacks {DATA_DIR}/{name}; "
                              f"reinstall {PACKAGE} {VERSION}: {INSTALL} --force-reinstall")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256[name]:
        raise NeckSearchError(f"{path} is not {PACKAGE} {VERSION}'s {name} (SHA-256 {digest[:12]}…, expected "
                              f"{SHA256[name][:12]}…); reinstall it: {INSTALL} --force-reinstall")


def read_voc_boxes(path: Path) -> np.ndarray:
    """The ``bndbox`` of every ``object`` of a Pascal VOC file, as rows ``x0 y0 x1 y1`` (px); labels are ignored."""
    objects = ET.parse(path).getroot().iter("object")
    return np.array([[int(obj.find(f"bndbox/{key}").text) for key in ("xmin", "ymin", "xmax", "ymax")]
                     for obj in objects], dtype=np.int64).reshape(-1, 4)


def tile_offsets(side: int, tile: int, overlap: int) -> List[int]:
    """Window offsets along a side: evenly spread from 0 to ``side - tile``, as few as keep neighbours
    overlapping by at least ``overlap`` px (one offset, 0, when the side is not longer than ``tile``)."""
    span = side - tile
    if span <= 0:
        return [0]
    gaps = -(-span // (tile - overlap))
    return [round(index * span / gaps) for index in range(gaps + 1)]


def clip_boxes(boxes: np.ndarray, x: int, y: int, width: int, height: int) -> np.ndarray:
    """Boxes (rows ``x0 y0 x1 y1``) clipped to a window, in its coordinates; remnants below the rule of the
    module docstring (less than :data:`MIN_KEPT` of the area, or a side under :data:`MIN_SIDE` px) dropped."""
    clipped = np.clip(boxes - [x, y, x, y], 0, [width, height, width, height])
    sides = clipped[:, 2:] - clipped[:, :2]
    areas = (boxes[:, 2:] - boxes[:, :2]).prod(axis=1)
    keep = (sides >= MIN_SIDE).all(axis=1) & (sides.prod(axis=1) >= MIN_KEPT * areas)
    return clipped[keep]


def _write_split(root: Path, split: str, stems: Tuple[str, ...], files: Dict[str, Path], tile: int,
                 overlap: int) -> str:
    """Cut a split's images into tiles and save them; return its annotation file's text."""
    (root / split).mkdir()
    images, annotations = [], []
    for stem in stems:
        pixels = np.asarray(Image.open(files[f"{stem}.png"]).convert("RGB"))
        boxes = read_voc_boxes(files[f"{stem}.xml"])
        height, width = pixels.shape[:2]
        for y in tile_offsets(height, tile, overlap):
            for x in tile_offsets(width, tile, overlap):
                window = pixels[y:y + tile, x:x + tile]
                kept = clip_boxes(boxes, x, y, window.shape[1], window.shape[0])
                if split == "train" and not len(kept):
                    continue
                image_id, name = len(images) + 1, f"{stem}_x{x:04d}_y{y:04d}.png"
                Image.fromarray(window).save(root / split / name)
                images.append({**image_record(image_id, name, window.shape[:2]), "license": 1,
                               "source": f"{stem}.png"})
                annotations += [_annotation(len(annotations) + k + 1, image_id, box) for k, box in enumerate(kept)]
    info = {**INFO, "split": split, "tile": tile, "overlap": overlap, "sources": [f"{stem}.png" for stem in stems]}
    return dataset_json(images, annotations, info, CATEGORIES, LICENSES)


def _annotation(ann_id: int, image_id: int, box: np.ndarray) -> dict:
    x0, y0, x1, y1 = (int(v) for v in box)
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "bbox": [x0, y0, x1 - x0, y1 - y0],
            "area": (x1 - x0) * (y1 - y0), "iscrowd": 0}
