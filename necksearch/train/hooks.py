"""mmengine hooks of ``necksearch train`` (registered in mmengine's HOOKS on import).

* ``NeckSearchMetricsHook`` — after every validation epoch writes ``WORK_DIR/metrics/epoch_{n}.json``
  (``{"epoch", "iter", "metrics"}``, keys sorted, no timestamps: equal runs give equal bytes) and appends
  the same object as one line to ``WORK_DIR/metrics.jsonl``.
* ``EpochReseedHook`` — seeds Python, numpy and torch with ``seed + epoch`` before every training epoch, so
  that the random state of epoch ``n`` does not depend on whether the run was resumed (mmengine restores
  weights, optimizer, schedulers and message hub, but not the global RNG states).
"""
from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


@HOOKS.register_module(force=True)
class NeckSearchMetricsHook(Hook):
    priority = "LOW"

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if getattr(runner, "rank", 0) != 0:
            return
        record = {"epoch": int(runner.epoch), "iter": int(runner.iter),
                  "metrics": {key: _plain(value) for key, value in sorted((metrics or {}).items())}}
        text = json.dumps(record, sort_keys=True)
        work_dir = Path(runner.work_dir)
        (work_dir / "metrics").mkdir(parents=True, exist_ok=True)
        (work_dir / "metrics" / f"epoch_{record['epoch']}.json").write_text(text + "\n", encoding="utf-8")
        with open(work_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(text + "\n")


@HOOKS.register_module(force=True)
class EpochReseedHook(Hook):
    priority = "VERY_HIGH"

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)

    def before_train_epoch(self, runner) -> None:
        seed = self.seed + int(runner.epoch)
        random.seed(seed)
        np.random.seed(seed % 2 ** 32)
        torch.manual_seed(seed)
