"""Training detectors with a neck graph: config building, data checks, safe checkpoints, the mmengine Runner.

``necksearch train`` is :func:`necksearch.train.runner.train`; :func:`build_train_config` is the config it runs.
"""
from necksearch.train.runner import (CONFIG_DIR, DEFAULT_CONFIG, MASK_PROXY, build_train_config, check_ann_file,
                                     resolve_config_path, train)

__all__ = ["CONFIG_DIR", "DEFAULT_CONFIG", "MASK_PROXY", "build_train_config", "check_ann_file",
           "resolve_config_path", "train"]
