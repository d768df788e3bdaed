"""Writing the synthetic dataset: one seeded generator per image, into a temp dir renamed into place.

``DIR/synth.json`` (the stamp: generator version, seed, sizes, classes, and the style unless ``shapes``) is
written last; ``ensure_synthetic_coco`` reuses a dataset whose stamp matches and regenerates it otherwise.
"""
from __future__ import annotations

import fcntl
import itertools
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image

from necksearch.data.coco import annotation, categories, dataset_json, image_record
from necksearch.data.scene import SHAPES_STYLE, STYLES, SceneStyle, render_scene
from necksearch.errors import NeckSearchError
from necksearch.files import dir_written_whole, make_dir

GENERATOR_VERSION = 1            # bump whenever the same seed would draw different data
DEFAULT_SEED = 0
DEFAULT_TRAIN = 400
DEFAULT_VAL = 100
DEFAULT_HW = (320, 320)
DEFAULT_STYLE = SHAPES_STYLE.name
SPLITS = ("train", "val")
STAMP = "synth.json"

#: ``progress(images done, images in all)``, called after every image.
Progress = Callable[[int, int], None]
PathLike = Union[str, Path]


def make_synthetic_coco(out_dir: PathLike, seed: int = DEFAULT_SEED, num_train: int = DEFAULT_TRAIN,
                        num_val: int = DEFAULT_VAL, image_hw: Sequence[int] = DEFAULT_HW,
                        progress: Optional[Progress] = None, force: bool = False, style: str = DEFAULT_STYLE) -> Path:
    """Write the dataset to ``out_dir`` and return it; a non-empty ``out_dir`` is replaced only with ``force``.

    ``style`` names a :data:`necksearch.data.scene.STYLES` entry (``shapes`` or ``dense``).
    """
    out = Path(out_dir)
    stamp = make_stamp(seed, num_train, num_val, image_hw, style)
    with dir_written_whole(out, force) as temp:
        _write(temp, stamp, _counter(num_train + num_val, progress))
    return out


def ensure_synthetic_coco(root: Optional[PathLike] = None, *, seed: int = DEFAULT_SEED,
                          num_train: int = DEFAULT_TRAIN, num_val: int = DEFAULT_VAL,
                          image_hw: Sequence[int] = DEFAULT_HW, progress: Optional[Progress] = None,
                          style: str = DEFAULT_STYLE) -> Path:
    """The dataset at ``root`` (default :func:`default_root`), generated unless its stamp matches.

    Concurrent callers wait on a lock file beside ``root``; a non-empty ``root`` without a stamp is
    never overwritten.
    """
    root = Path(root) if root is not None else default_root()
    wanted = make_stamp(seed, num_train, num_val, image_hw, style)
    make_dir(root.parent)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if read_stamp(root) == wanted:
            return root
        return make_synthetic_coco(root, seed, num_train, num_val, image_hw, progress,
                                   force=(root / STAMP).is_file(), style=style)


def default_root() -> Path:
    """``data/synth`` of the source checkout (git-ignored), or of the working directory for an installed package."""
    repo = Path(__file__).resolve().parents[2]
    return (repo if (repo / "pyproject.toml").is_file() else Path.cwd()) / "data" / "synth"


def make_stamp(seed: int, num_train: int, num_val: int, image_hw: Sequence[int], style: str = DEFAULT_STYLE) -> dict:
    """What identifies a dataset's content; checks the arguments on the way."""
    if style not in STYLES:
        raise NeckSearchError(f"unknown synthetic style {style!r} (known: {', '.join(STYLES)})")
    if seed < 0:
        raise NeckSearchError(f"seed must be at least 0, got {seed}")
    if num_train < 1 or num_val < 1:
        raise NeckSearchError(f"train and val need at least 1 image each, got {num_train} and {num_val}")
    if len(image_hw) != 2 or not all(64 <= side <= 4096 for side in image_hw):
        raise NeckSearchError(f"image size must be two sides (H W) of 64..4096 px, got {tuple(image_hw)}")
    stamp = {"generator_version": GENERATOR_VERSION, "seed": int(seed), "num_train": int(num_train),
             "num_val": int(num_val), "image_hw": [int(side) for side in image_hw],
             "classes": list(STYLES[style].classes)}
    if style != DEFAULT_STYLE:  # the shapes' stamp stays the one written before styles existed
        stamp["style"] = style
    return stamp


def stamp_style(stamp: dict) -> SceneStyle:
    """The style a stamp was drawn in (the shapes when it names none)."""
    return STYLES[stamp.get("style", DEFAULT_STYLE)]


def read_stamp(root: Path) -> Optional[dict]:
    try:
        return json.loads((root / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write(root: Path, stamp: dict, tick: Callable[[], None]) -> None:
    (root / "annotations").mkdir()
    for split_index, split in enumerate(SPLITS):
        text = _write_split(root, split_index, stamp, tick)
        (root / "annotations" / f"instances_{split}.json").write_text(text, encoding="utf-8")
    (root / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def _write_split(root: Path, split_index: int, stamp: dict, tick: Callable[[], None]) -> str:
    """Render and save a split's images (on a few threads, in order); return its annotation file's text."""
    split = SPLITS[split_index]
    (root / split).mkdir()
    images, annotations = [], []
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        jobs = pool.map(lambda index: _write_image(root, split_index, stamp, index), range(stamp[f"num_{split}"]))
        for image, objects in jobs:
            images.append(image)
            annotations += [{"id": len(annotations) + k + 1, **obj} for k, obj in enumerate(objects)]
            tick()
    style = stamp_style(stamp)
    info = {"description": f"necksearch synthetic {style.name}", "split": split, **stamp}
    return dataset_json(images, annotations, info, categories(style))


def _write_image(root: Path, split_index: int, stamp: dict, index: int) -> Tuple[dict, List[dict]]:
    """Draw image ``index`` of a split with its own generator, save it; its record and annotations (no ids)."""
    hw, style = tuple(stamp["image_hw"]), stamp_style(stamp)
    pixels, instances = render_scene(np.random.default_rng([stamp["seed"], split_index, index]), hw, style)
    name = f"{index:06d}.png"
    Image.fromarray(pixels).save(root / SPLITS[split_index] / name, compress_level=1)
    return image_record(index + 1, name, hw), [annotation(i, index + 1, style.category_id(i.category))
                                               for i in instances]


def _counter(total: int, progress: Optional[Progress]) -> Callable[[], None]:
    done = itertools.count(1)
    return lambda: progress(next(done), total) if progress else None

