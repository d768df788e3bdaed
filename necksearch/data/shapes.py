"""The object classes of the synthetic dataset as outlines of circumradius 1, each with per-instance variation.

An :class:`Outline` is an outer polygon and, for the ring, a hole. ``place`` turns it into pixel
polygons (rotated, scaled to a wanted area, translated); ``rasterize`` draws them with pycocotools,
so a stored polygon decodes (``COCO.annToMask``) to exactly the pixels that were painted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from pycocotools import mask as mask_utils


@dataclass(frozen=True)
class Outline:
    """A shape of circumradius 1 centred on the origin: an outer polygon (n, 2) and an optional hole."""

    outer: np.ndarray
    hole: Optional[np.ndarray] = None

    def area(self) -> float:
        return _shoelace(self.outer) - (_shoelace(self.hole) if self.hole is not None else 0.0)


def _shoelace(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def _polar(radii: np.ndarray, angles: np.ndarray, aspect: float = 1.0) -> np.ndarray:
    return np.stack([radii * np.cos(angles), aspect * radii * np.sin(angles)], axis=1)


def _round(vertices: int, aspect: float = 1.0, radius: float = 1.0) -> np.ndarray:
    angles = np.linspace(0.0, 2 * math.pi, vertices, endpoint=False)
    return _polar(np.full(vertices, radius), angles, aspect)


def circle(rng: np.random.Generator, vertices: int) -> Outline:
    return Outline(_round(vertices))


def ellipse(rng: np.random.Generator, vertices: int) -> Outline:
    return Outline(_round(vertices, aspect=rng.uniform(0.35, 0.6)))


def square(rng: np.random.Generator, vertices: int) -> Outline:
    return Outline(_round(4))


def triangle(rng: np.random.Generator, vertices: int) -> Outline:
    """A near-equilateral triangle: each corner moves up to ±11° along the circumcircle."""
    angles = np.array([0.0, 2 * math.pi / 3, 4 * math.pi / 3]) + rng.uniform(-0.2, 0.2, 3)
    return Outline(_polar(np.ones(3), angles))


def ring(rng: np.random.Generator, vertices: int) -> Outline:
    return Outline(_round(vertices), _round(vertices, radius=rng.uniform(0.45, 0.7)))


def cross(rng: np.random.Generator, vertices: int) -> Outline:
    """A plus sign whose arm half-width is 0.22–0.38 of the circumradius."""
    w = rng.uniform(0.22, 0.38)
    arm = math.sqrt(1 - w * w)
    quarter = np.array([[arm, -w], [arm, w], [w, w]])
    turns = [_transform(quarter, 1.0, k * math.pi / 2, (0.0, 0.0)) for k in range(4)]
    return Outline(np.concatenate(turns))


def star(rng: np.random.Generator, vertices: int) -> Outline:
    """A five-pointed star whose inner radius is 0.38–0.5 of the outer one."""
    radii = np.tile([1.0, rng.uniform(0.38, 0.5)], 5)
    return Outline(_polar(radii, np.arange(10) * math.pi / 5))


#: Class name -> outline maker ``(rng, vertices of round shapes) -> Outline``; the order gives category ids 1..n.
SHAPES: Dict[str, Callable[[np.random.Generator, int], Outline]] = {
    "circle": circle, "square": square, "triangle": triangle, "ring": ring,
    "cross": cross, "star": star, "ellipse": ellipse,
}
CLASSES: Tuple[str, ...] = tuple(SHAPES)


@dataclass(frozen=True)
class Placed:
    """An outline in pixels: flat [x0, y0, x1, y1, ...] polygons, rounded as they are stored in the JSON."""

    outer: List[float]
    hole: Optional[List[float]]


def place(outline: Outline, radius: float, angle: float, centre: Tuple[float, float]) -> Placed:
    def to_pixels(points: np.ndarray) -> List[float]:
        return np.round(_transform(points, radius, angle, centre), 2).ravel().tolist()

    return Placed(to_pixels(outline.outer), to_pixels(outline.hole) if outline.hole is not None else None)


def _transform(points: np.ndarray, radius: float, angle: float, centre: Tuple[float, float]) -> np.ndarray:
    rotation = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    return points @ rotation * radius + np.asarray(centre)


def rasterize(placed: Placed, hw: Tuple[int, int]) -> np.ndarray:
    """The boolean mask pycocotools draws for the placed outline (outer minus hole)."""
    mask = _polygon_mask(placed.outer, hw)
    if placed.hole is not None:
        mask &= ~_polygon_mask(placed.hole, hw)
    return mask


def _polygon_mask(polygon: List[float], hw: Tuple[int, int]) -> np.ndarray:
    rles = mask_utils.frPyObjects([polygon], hw[0], hw[1])
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def extent(outline: Outline, angle: float) -> Tuple[np.ndarray, np.ndarray]:
    """The (min xy, max xy) of the rotated unit outline, to keep placed shapes inside the image."""
    points = _transform(outline.outer, 1.0, angle, (0.0, 0.0))
    return points.min(axis=0), points.max(axis=0)
