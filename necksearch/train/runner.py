"""A training config's run with mmengine's Runner (:func:`run_config`), and ``necksearch train`` (:func:`train`):
a recipe resolved for one training (:mod:`necksearch.train.recipe`), then run. A checkpoint to resume from is loaded
once with the current loader before the Runner starts, so that a refused file is a one-line error.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Optional

from necksearch.errors import NeckSearchError
from necksearch.train.recipe import build_train_config


def check_resume_checkpoint(work_dir: Path) -> Optional[Path]:
    """The checkpoint ``--resume`` will load (mmengine's ``last_checkpoint`` record), loaded once with the
    current loader so that a refused or unreadable file is a one-line error; ``None`` if there is none."""
    from necksearch.mmdet.checkpoint import load_local
    record = work_dir / "last_checkpoint"
    if not record.is_file():
        return None
    path = Path(record.read_text(encoding="utf-8").strip())
    if not path.is_file():
        raise NeckSearchError(f"--resume: {record} names {path}, which does not exist")
    load_local(str(path), map_location="cpu")
    return path


def train(config=None, *, trust_checkpoint: bool = False, **kwargs) -> Path:
    """Train (or resume) and return the work dir; per-epoch metrics land in ``WORK_DIR/metrics/``. ``kwargs``
    are :func:`necksearch.train.recipe.build_train_config`'s."""
    return run_config(build_train_config(config, **kwargs), trust_checkpoint=trust_checkpoint)


def run_config(cfg, *, trust_checkpoint: bool = False) -> Path:
    """Run a training config (:meth:`necksearch.train.recipe.Recipe.training_config`) with mmengine's Runner;
    returns the work dir."""
    from mmdet.utils import register_all_modules
    from mmengine.runner import Runner
    import necksearch.train.hooks  # noqa: F401 - registers the hooks
    from necksearch.mmdet.checkpoint import install
    register_all_modules(init_default_scope=True)
    install(trust=trust_checkpoint)
    if cfg.resume:  # refuse an unsafe checkpoint before the Runner starts logging
        check_resume_checkpoint(Path(cfg.work_dir))
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    return Path(cfg.work_dir)
