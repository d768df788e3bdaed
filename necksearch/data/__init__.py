"""A seeded synthetic COCO instance-segmentation dataset of shapes, so that detectors train without downloads.

Layout written by :func:`make_synthetic_coco` (and ``necksearch data synth --out DIR``)::

    DIR/train/000000.png ...               RGB images, H × W (default 320 × 320)
    DIR/val/000000.png ...
    DIR/annotations/instances_train.json   COCO: images, annotations (polygon or RLE), categories
    DIR/annotations/instances_val.json
    DIR/synth.json                         stamp: generator version, seed, sizes, classes (style if not shapes)

Classes (category ids 1..7): circle, square, triangle, ring, cross, star, ellipse; the class is the
shape alone: each instance gets its own colours and fill (solid, gradient, stripes, checker, speckle).
Each image holds 3–8 objects whose scale (square root of the shape's area) is log-uniform from 8 px to
60% of the shorter side (stratified per image), at random rotations, painted largest first; later
objects may cover earlier ones, but every object keeps at least 60% of its area visible, and the
annotation is the visible part. The background is a colour gradient with smooth noise, soft blobs and
thin polyline strokes that are no object. Image ``i`` of a split is drawn by
``numpy.random.default_rng([seed, split, i])``: the same seed gives the same bytes.

That is the ``shapes`` style. ``style="dense"`` (``data synth --style dense``) draws the same shapes,
fills and background but labels every object ``object`` (one class) and puts 10–20 in an image at
scales of 1/16–3/16 of the shorter side: the density and box sizes of the NEON tree crowns at 128²
(:mod:`necksearch.data.scene`), to test what the synthetic ranking of necks misses on real imagery.

Parameters: ``seed`` (≥ 0), ``num_train`` / ``num_val`` images (default 400 / 100), ``image_hw``
(default (320, 320), sides 64..4096), ``style`` (``shapes`` or ``dense``), ``progress(done, total)``,
``force`` (replace a non-empty dir).
:func:`ensure_synthetic_coco` keeps one dataset at :func:`default_root` (``data/synth``) and reuses
it while its stamp matches; :func:`synthetic_dataset_cfg` gives MMDetection's ``CocoDataset`` and
``CocoMetric`` settings for a ``shapes`` dataset (a ``dense`` one trains through ``--data DIR``, which reads the
classes from its annotations). Needs numpy, pillow and pycocotools (the ``full`` extra).

Real imagery: :func:`make_trees_coco` (``necksearch data trees --out DIR``, :mod:`necksearch.data.trees`)
writes the same layout for one class, ``tree``: NEON aerial photos of tree crowns with their boxes, as
the ``deepforest`` package ships them (installed without its dependencies by scripts/setup), cut into
overlapping tiles, train and val from different images.
"""
from necksearch.data.coco import AREA_RANGES, dataset_stats
from necksearch.data.mmdet_cfg import synthetic_dataset_cfg
from necksearch.data.shapes import CLASSES
from necksearch.data.synth import (DEFAULT_HW, DEFAULT_SEED, DEFAULT_TRAIN, DEFAULT_VAL, GENERATOR_VERSION,
                                   default_root, ensure_synthetic_coco, make_synthetic_coco)
from necksearch.data.trees import ensure_trees_coco, make_trees_coco

__all__ = ["AREA_RANGES", "CLASSES", "DEFAULT_HW", "DEFAULT_SEED", "DEFAULT_TRAIN", "DEFAULT_VAL",
           "GENERATOR_VERSION", "dataset_stats", "default_root", "ensure_synthetic_coco", "make_synthetic_coco",
           "ensure_trees_coco", "make_trees_coco", "synthetic_dataset_cfg"]
