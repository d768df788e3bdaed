"""The parts of a training config: where configs live, reading one, and setting its data root, graph, fidelity and
epochs.

:mod:`necksearch.train.recipe` puts the parts together; :mod:`necksearch.train.runner` runs the result. Every user
mistake found before training starts (config path, data root, annotation files and their entries
(:mod:`necksearch.train.dataset`), graph levels or widths that do not match the backbone) raises
:class:`NeckSearchError`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

from necksearch.errors import NeckSearchError
from necksearch.resources import resource_dir
from necksearch.train.dataset import check_ann_file, fit_config, read_ann_file
from necksearch.train.fidelity import Fidelity

if TYPE_CHECKING:
    from necksearch.graph import NeckGraph

#: ``configs/`` (the repository's top-level folder, or its copy in an installed wheel).
CONFIG_DIR = resource_dir("configs")
#: The default proxy: Faster R-CNN on an ImageNet-pretrained, frozen EfficientNet-Lite0 (the papers' regime).
DEFAULT_CONFIG = CONFIG_DIR / "proxy" / "faster-rcnn_effnet-lite0_fpn_synth.py"
#: The from-scratch alternative: ResNet-18 at half width, no pretrained weights.
SCRATCH_CONFIG = CONFIG_DIR / "proxy" / "faster-rcnn_r18-tiny_fpn_synth.py"
MASK_PROXY = CONFIG_DIR / "proxy" / "mask-rcnn_r18-tiny_fpn_synth.py"
#: A config whose train dataset has this data root trains on the embedded dataset (generated on first use).
SYNTH_ROOT = "data/synth/"
TREES_ROOT = "data/trees/"
HOOK_MODULE = "necksearch.train.hooks"


def resolve_config_path(config: Union[str, Path, None]) -> Path:
    """A config path as given, or relative to ``configs/``; the Faster R-CNN proxy when ``None``."""
    if config is None:
        return DEFAULT_CONFIG
    path = Path(config)
    for candidate in (path, CONFIG_DIR / path):
        if candidate.is_file() and candidate.suffix == ".py":
            return candidate
    raise NeckSearchError(f"unknown config {str(config)!r}: no such .py file here or under {CONFIG_DIR}")


def load_config(path: Path):
    from mmengine.config import Config
    try:
        return Config.fromfile(str(path))
    except Exception as err:  # noqa: BLE001 - mmengine raises many kinds for a bad file
        raise NeckSearchError(f"cannot read config {path}: {type(err).__name__}: "
                              f"{str(err).strip().splitlines()[-1] if str(err).strip() else ''}") from None


def _datasets(cfg):
    """The dataset dicts of the train / val / test loaders (ConcatDataset / RepeatDataset wrappers unwrapped)."""
    found = []
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg.get(key)
        if loader is None:
            continue
        dataset = loader["dataset"]
        while "dataset" in dataset:
            dataset = dataset["dataset"]
        found.append((key, dataset))
    return found


def _built_on_first_use(configured: str) -> Optional[Path]:
    """The dataset a config names by its usual root (``data/synth/``: the embedded shapes; ``data/trees/``: the tree
    crowns), generated there on first use; ``None`` for any other root."""
    from necksearch.data import ensure_synthetic_coco, ensure_trees_coco
    builders = {SYNTH_ROOT: ensure_synthetic_coco, TREES_ROOT: ensure_trees_coco}
    build = builders.get(configured.rstrip("/") + "/")
    return build() if build else None


def set_data_root(cfg, data_root: Optional[Union[str, Path]]) -> Path:
    """Point every dataset and evaluator at ``data_root`` (``--data DIR``; default: the config's, the embedded
    dataset generated on first use), check the root, its annotation files and their images
    (:func:`~necksearch.train.dataset.check_ann_file`), and fit the config to them: classes, class count, metric
    (:func:`~necksearch.train.dataset.fit_config`). ``necksearch train``, ``search``, ``fidelity`` and
    ``reproduce`` all resolve their data here."""
    datasets = _datasets(cfg)
    if not datasets:
        raise NeckSearchError("the config has no train_dataloader")
    configured = datasets[0][1].get("data_root", "")
    if data_root is None:
        data_root = _built_on_first_use(str(configured))
    root = Path(data_root if data_root is not None else configured)
    if not root.is_dir():
        raise NeckSearchError(f"data root {root} does not exist (give --data DIR)")
    root = root.resolve()
    splits = {}
    for key, dataset in datasets:
        dataset["data_root"] = str(root) + os.sep
        path = root / dataset["ann_file"]
        if path not in splits:  # the test loader usually reads the validation file again
            image_dir = root / (dataset.get("data_prefix") or {}).get("img", "")
            splits[path] = check_ann_file(path, image_dir, train=key == "train_dataloader")
    fit_config(cfg, [dataset for _, dataset in datasets], list(splits.items()))
    val_ann = root / dict(datasets)["val_dataloader"]["ann_file"] if "val_dataloader" in dict(datasets) else None
    for key in ("val_evaluator", "test_evaluator"):
        evaluator = cfg.get(key)
        if evaluator is not None and val_ann is not None and "ann_file" in evaluator:
            evaluator["ann_file"] = str(val_ann)
    return root


def _backbone_widths(backbone) -> Optional[list]:
    from necksearch.mmdet.config import backbone_widths
    try:
        return backbone_widths(backbone)
    except NeckSearchError:
        return None


def config_graph(cfg) -> "NeckGraph":
    """The neck graph an mmdet config names (``model.neck.graph``: a preset name, a graph file or a dict)."""
    from necksearch.graph.presets import resolve_graph
    neck = cfg.model.get("neck", {})
    if neck.get("type") != "GraphNeck":
        raise NeckSearchError(f"the config's neck is {neck.get('type')!r}, not GraphNeck")
    return resolve_graph(neck["graph"])


def set_graph(cfg, graph: Optional["NeckGraph"]) -> "NeckGraph":
    """Check the config's neck graph against the backbone; with ``graph``, replace it (and the detector-level
    parts that follow from it) through :func:`necksearch.mmdet.detector_from_graph`. Returns the graph trained."""
    from necksearch.mmdet.config import detector_from_graph
    model = cfg.model
    neck = model.get("neck", {})
    resolved = config_graph(cfg) if graph is None else graph
    in_channels = list(neck["in_channels"])
    widths = _backbone_widths(model["backbone"])
    if widths is not None and widths != in_channels:
        raise NeckSearchError(f"the neck's in_channels {in_channels} do not match the backbone's outputs {widths}")
    if len(resolved.inputs) != len(in_channels):
        raise NeckSearchError(f"graph {resolved.name!r} reads {len(resolved.inputs)} backbone levels "
                              f"({', '.join(resolved.inputs)}) but the backbone gives {len(in_channels)} "
                              f"({in_channels})")
    resolved.infer_shapes(dict(zip(resolved.inputs, in_channels)))  # widths and levels agree, or GraphError
    if graph is not None:
        base = model.to_dict()
        try:
            new = detector_from_graph(resolved, base, in_channels=in_channels, out_channels=neck.get("out_channels"))
        except (TypeError, KeyError) as err:  # a base detector_from_graph does not know (no roi_head, ...)
            raise NeckSearchError(f"--graph cannot rewrite this config's detector ({model['type']}): "
                                  f"{type(err).__name__}: {err}") from None
        from mmengine.config import ConfigDict
        cfg.model = ConfigDict(new)
    return resolved


def set_fidelity(cfg, fidelity: Fidelity) -> None:
    """Train and evaluate at ``fidelity``'s image size and data (its epochs: :func:`set_epochs`): every ``Resize`` to
    ``image_size``² (aspect kept), and the first ``data_fraction`` of the training images (mmengine's ``indices``);
    validation stays whole."""
    image_size, data_fraction = fidelity.checked().image_size, fidelity.data_fraction
    if image_size is not None:
        for key, dataset in _datasets(cfg):
            for transform in dataset.get("pipeline", []):
                if transform.get("type") == "Resize":
                    transform["scale"] = (int(image_size), int(image_size))
    if data_fraction is not None and data_fraction < 1:
        train_set = dict(_datasets(cfg))["train_dataloader"]
        # the image count only: the entries were checked when the data root was resolved, and this runs
        # for every training config (every trial of a search)
        images = len(read_ann_file(Path(train_set["data_root"]) / train_set["ann_file"])["images"])
        train_set["indices"] = max(1, round(images * data_fraction))


def set_epochs(cfg, epochs: int) -> None:
    """Train for ``epochs`` and stretch the epoch-based LR schedule with them.

    Every ``by_epoch`` scheduler's ``begin``/``end`` and ``milestones`` are scaled by epochs / the config's
    ``max_epochs`` and rounded, so a step written "before the last of 3 epochs" lands before the last of 6
    (and mmdet's 1x [8, 11] of 12 becomes the 2x [16, 22] of 24). A milestone that rounds to 0 or to the end
    is dropped: a 1-epoch run of the 3-epoch proxy has no LR step. Iteration-based schedulers (the warm-up)
    are left as they are.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise NeckSearchError(f"--epochs must be a whole number of at least 1, got {epochs!r}")
    written = int(cfg.train_cfg["max_epochs"])
    cfg.train_cfg["max_epochs"] = epochs
    schedulers = cfg.get("param_scheduler") or []
    for scheduler in [schedulers] if isinstance(schedulers, dict) else schedulers:
        if scheduler.get("by_epoch", True):
            _stretch(scheduler, epochs / written, epochs)


def _stretch(scheduler, factor: float, epochs: int) -> None:
    for key in ("begin", "end"):
        if key in scheduler and scheduler[key] is not None:
            scheduler[key] = min(epochs, round(scheduler[key] * factor))  # an open end (INF) becomes the last epoch
    if "milestones" in scheduler:
        scheduler["milestones"] = sorted({m for m in (round(m * factor) for m in scheduler["milestones"])
                                          if 0 < m < epochs})
