"""Training detectors with a neck graph: recipes (config + data + fidelity), data checks, safe checkpoints, the
mmengine Runner.

``necksearch train`` is :func:`necksearch.train.runner.train`; :func:`build_train_config` is the config it runs,
built from a :class:`Recipe` resolved for it.
"""
from necksearch.train.dataset import check_ann_file
from necksearch.train.recipe import Recipe, build_train_config
from necksearch.train.configs import CONFIG_DIR, DEFAULT_CONFIG, MASK_PROXY, resolve_config_path
from necksearch.train.runner import train

__all__ = ["CONFIG_DIR", "DEFAULT_CONFIG", "MASK_PROXY", "Recipe", "build_train_config", "check_ann_file",
           "resolve_config_path", "train"]
