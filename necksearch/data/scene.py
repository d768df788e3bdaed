"""One synthetic image: a cluttered background, then shapes painted largest first with their visible masks.

Background: a two-colour linear gradient, smooth low-frequency colour noise, soft blobs and hard
polyline strokes (clutter that belongs to no class). Objects: a shape drawn uniformly, a scale
(square root of the shape's area) log-uniform within the style's range, a random rotation, and a
random fill (solid, gradient, stripes, checker or speckle) in colours that contrast with what lies
beneath, so that only the shape tells the class. A new object may cover earlier ones but must leave
each at least ``MIN_VISIBLE`` of its area, otherwise its position is drawn again (and the object is
skipped after ``PLACEMENT_TRIES``). Objects are painted with hard edges, so an object's visible mask
is exactly its pixels in the image.

A :class:`SceneStyle` says how many objects an image holds, their scale range and what they are
labelled. ``shapes`` (the default, the embedded dataset's) spreads 3–8 objects of seven classes from
8 px to 0.6 of the image side; ``dense`` draws 10–20 objects of one class at 1/16–3/16 of the side,
the density and box sizes measured on the NEON tree crowns (``benchmarks/results/transfer_trees.md``,
"What the synthetic data lacks").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

from necksearch.data.shapes import CLASSES, SHAPES, Placed, extent, place, rasterize

MIN_SCALE = 8.0                  # px, square root of the smallest object's area in any style
MAX_RADIUS_FRACTION = 0.45       # of the shorter side: a shape's circumradius is capped to fit the image
MIN_VISIBLE = 0.6                # share of its own area every object keeps visible
PLACEMENT_TRIES = 25
MIN_CONTRAST = 90.0              # RGB distance between an object's first colour and the mean beneath it


@dataclass(frozen=True)
class SceneStyle:
    """How an image is populated: objects drawn per image (inclusive, before skips), the range of their
    scales (square root of the area) as fractions of the shorter side (never below ``MIN_SCALE`` px),
    and the labels written: the shapes' own class names, or one name for every shape."""

    name: str
    objects_per_image: Tuple[int, int]
    scale_fractions: Tuple[float, float]
    classes: Tuple[str, ...]

    def scale_range(self, hw: Tuple[int, int]) -> Tuple[float, float]:
        """The smallest and largest scale in px for an image of ``hw``."""
        side = min(hw)
        return max(MIN_SCALE, self.scale_fractions[0] * side), self.scale_fractions[1] * side

    def category_id(self, shape: str) -> int:
        """The COCO category id (from 1) an object of ``shape`` is written with."""
        return self.classes.index(shape) + 1 if len(self.classes) > 1 else 1


SHAPES_STYLE = SceneStyle("shapes", objects_per_image=(3, 8), scale_fractions=(0.0, 0.6), classes=CLASSES)
#: Tree crowns at 128² (``object_shapes`` in transfer_trees.json): 14.4 a tile, box sides 11 / 18 / 28 px
#: (10th / 50th / 90th percentile), one class. 10–20 objects at scales 1/16–3/16 of the side give 15.2 an image
#: and box sides of 12 / 18 / 29 px at 128² (measured on the validation split, ``object_shapes["dense"]``).
DENSE_STYLE = SceneStyle("dense", objects_per_image=(10, 20), scale_fractions=(1 / 16, 3 / 16), classes=("object",))
STYLES = {style.name: style for style in (SHAPES_STYLE, DENSE_STYLE)}


@dataclass
class Instance:
    """A painted object: its class, its outline in pixels, its full and visible masks (H, W) bool."""

    category: str
    placed: Placed
    full: np.ndarray
    visible: np.ndarray


def render_scene(rng: np.random.Generator, hw: Tuple[int, int],
                 style: SceneStyle = SHAPES_STYLE) -> Tuple[np.ndarray, List[Instance]]:
    """An (H, W, 3) uint8 image and its objects, in painting order."""
    image = background(rng, hw)
    add_distractors(rng, image)
    instances: List[Instance] = []
    for category, scale in sample_objects(rng, hw, style):
        instance = place_instance(rng, category, scale, instances, hw)
        if instance is not None:
            for earlier in instances:
                earlier.visible &= ~instance.full
            paint(rng, image, instance.full)
            instances.append(instance)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), instances


def sample_objects(rng: np.random.Generator, hw: Tuple[int, int],
                   style: SceneStyle = SHAPES_STYLE) -> List[Tuple[str, float]]:
    """(shape, scale) pairs, largest first (an object is only ever covered by smaller ones); scales are
    log-uniform, stratified so that every image spans the style's range."""
    fewest, most = style.objects_per_image
    count = int(rng.integers(fewest, most + 1))
    categories = rng.integers(len(CLASSES), size=count)
    strata = (np.arange(count) + rng.uniform(size=count)) / count
    low, high = (math.log(scale) for scale in style.scale_range(hw))
    scales = np.exp(low + strata * (high - low))
    return sorted(((CLASSES[c], float(s)) for c, s in zip(categories, scales)), key=lambda p: -p[1])


def place_instance(rng: np.random.Generator, category: str, scale: float, instances: List[Instance],
                   hw: Tuple[int, int]) -> Optional[Instance]:
    """The object at a random pose inside the image that leaves earlier objects visible enough, or None."""
    outline = SHAPES[category](rng, int(np.clip(1.2 * scale, 12, 64)))
    radius = min(scale / math.sqrt(outline.area()), MAX_RADIUS_FRACTION * min(hw))
    for _ in range(PLACEMENT_TRIES):
        angle = rng.uniform(0.0, 2 * math.pi)
        low, high = extent(outline, angle)
        centre = rng.uniform(1.0 - low * radius, np.array(hw[::-1]) - 1.0 - high * radius)
        placed = place(outline, radius, angle, tuple(centre))
        full = rasterize(placed, hw)
        if all((i.visible & ~full).sum() >= MIN_VISIBLE * i.full.sum() for i in instances):
            return Instance(category, placed, full, full.copy())
    return None


def _ramp(rng: np.random.Generator, shape: Tuple[int, int]) -> np.ndarray:
    """Pixel coordinates projected on a random direction, (H, W) float32."""
    y, x = np.mgrid[:shape[0], :shape[1]].astype(np.float32)
    angle = rng.uniform(0.0, 2 * math.pi)
    return x * math.cos(angle) + y * math.sin(angle)


def _blend(first: np.ndarray, second: np.ndarray, t: np.ndarray) -> np.ndarray:
    return first + t[..., None] * (second - first)


def background(rng: np.random.Generator, hw: Tuple[int, int]) -> np.ndarray:
    """A gradient between two colours plus smooth colour noise, (H, W, 3) float32."""
    ramp = _ramp(rng, hw)
    first, second = rng.uniform(20, 235, (2, 3)).astype(np.float32)
    image = _blend(first, second, (ramp - ramp.min()) / np.ptp(ramp))
    for cells, amplitude in ((6, rng.uniform(8, 30)), (48, rng.uniform(2, 8))):
        image += smooth_noise(rng, hw, cells, amplitude)
    return image


def smooth_noise(rng: np.random.Generator, hw: Tuple[int, int], cells: int, amplitude: float) -> np.ndarray:
    """Gaussian colour noise on a cells × cells grid, bilinearly resized to (H, W, 3)."""
    coarse = rng.normal(0.0, amplitude, (3, cells, cells)).astype(np.float32)
    planes = [Image.fromarray(plane).resize(hw[::-1], Image.Resampling.BILINEAR) for plane in coarse]
    return np.stack([np.asarray(plane) for plane in planes], axis=-1)


def add_distractors(rng: np.random.Generator, image: np.ndarray) -> None:
    """Soft blobs and hard polyline strokes in random colours, painted in place beneath the objects."""
    h, w = image.shape[:2]
    for _ in range(int(rng.integers(1, 5))):
        _blob(rng, image, centre=rng.uniform((0, 0), (h, w)), sigma=rng.uniform(4, 0.15 * min(h, w)))
    for _ in range(int(rng.integers(2, 9))):
        image[_stroke(rng, (h, w))] = rng.uniform(0, 255, 3)


def _blob(rng: np.random.Generator, image: np.ndarray, centre: np.ndarray, sigma: float) -> None:
    """A Gaussian spot of colour blended into the image within three sigmas of its centre."""
    low = np.maximum(np.floor(centre - 3 * sigma), 0).astype(int)
    high = np.minimum(np.ceil(centre + 3 * sigma), image.shape[:2]).astype(int)
    y, x = np.ogrid[low[0]:high[0], low[1]:high[1]]
    alpha = rng.uniform(0.3, 0.7) * np.exp(-((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / (2 * sigma ** 2))
    window = image[low[0]:high[0], low[1]:high[1]]
    window[:] = _blend(window, rng.uniform(0, 255, 3).astype(np.float32), alpha.astype(np.float32))


def _stroke(rng: np.random.Generator, hw: Tuple[int, int]) -> np.ndarray:
    """The mask of an open polyline of 2–5 points, 1–4 px wide."""
    h, w = hw
    start = rng.uniform((0, 0), (w, h))
    steps = rng.normal(0.0, 0.2 * min(hw), (int(rng.integers(1, 5)), 2))
    points = np.cumsum(np.vstack([start, steps]), axis=0)
    canvas = Image.new("L", (w, h))
    ImageDraw.Draw(canvas).line([tuple(p) for p in points.tolist()], fill=255, width=int(rng.integers(1, 5)))
    return np.asarray(canvas) > 0


def paint(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray) -> None:
    """Fill ``mask`` of ``image`` with a random texture in colours contrasting with the pixels beneath."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    region, inside = image[window], mask[window]
    first = _contrasting(rng, region[inside].mean(axis=0))
    second = np.clip(first + rng.uniform(-80, 80, 3), 0, 255)
    texture = TEXTURES[int(rng.integers(len(TEXTURES)))](rng, inside.shape, first, second)
    region[inside] = texture[inside]


def _contrasting(rng: np.random.Generator, beneath: np.ndarray) -> np.ndarray:
    for _ in range(10):
        colour = rng.uniform(0, 255, 3)
        if np.linalg.norm(colour - beneath) >= MIN_CONTRAST:
            return colour
    return 255.0 - beneath


def _solid(rng, shape, first, second):
    return np.broadcast_to(first, (*shape, 3))


def _gradient(rng, shape, first, second):
    ramp = _ramp(rng, shape)
    return _blend(first, second, (ramp - ramp.min()) / (np.ptp(ramp) + 1e-6))


def _stripes(rng, shape, first, second):
    on = (_ramp(rng, shape) // rng.uniform(3, 10)) % 2 == 0
    return np.where(on[..., None], first, second)


def _checker(rng, shape, first, second):
    y, x = np.mgrid[:shape[0], :shape[1]] // int(rng.integers(3, 9))
    return np.where(((y + x) % 2 == 0)[..., None], first, second)


def _speckle(rng, shape, first, second):
    return first + rng.normal(0.0, 18.0, (*shape, 3))


#: Object fills ``(rng, (h, w), first colour, second colour) -> (h, w, 3)``.
TEXTURES = (_solid, _gradient, _stripes, _checker, _speckle)
