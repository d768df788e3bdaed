"""mmengine hooks of ``necksearch train`` (registered in mmengine's HOOKS on import).

* ``NeckSearchMetricsHook`` — after every validation epoch writes ``WORK_DIR/metrics/epoch_{n}.json``
  (``{"epoch", "iter", "metrics"}``, keys sorted, no timestamps: equal runs give equal bytes) and appends
  the same object as one line to ``WORK_DIR/metrics.jsonl``.
* ``NeckScaleHook`` — adds the root mean square of every neck output, as of the last training iteration of
  the epoch, to the epoch's metrics (``neck/rms_p3``, ...): a neck whose feature scale runs away (A²-FPN's
  did before its fix, benchmarks/results/proxy_learning.md) shows it there.
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


def read_metrics(work_dir: Path) -> list:
    """The ``{"epoch", "iter", "metrics"}`` records that :class:`NeckSearchMetricsHook` appended to
    ``WORK_DIR/metrics.jsonl``, oldest first (none when the training has not finished an epoch)."""
    path = Path(work_dir) / "metrics.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return [json.loads(line) for line in lines]


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


@HOOKS.register_module(force=True)
class NeckScaleHook(Hook):
    """Record the RMS of each neck output during training and add it to the validation metrics."""

    priority = "NORMAL"  # before NeckSearchMetricsHook (LOW) writes the metrics

    def __init__(self) -> None:
        self.rms: dict = {}

    def before_train(self, runner) -> None:
        model = getattr(runner.model, "module", runner.model)
        neck = getattr(model, "neck", None)
        if neck is not None:
            neck.register_forward_hook(self._record)

    def _record(self, module, inputs, outputs) -> None:
        if isinstance(outputs, tuple) and len(outputs) == 2 and isinstance(outputs[1], dict):
            outputs = outputs[0]  # called with return_nodes (AugFPN's consistent supervision): (maps, laterals)
        if module.training:
            shapes, graph = getattr(module, "shapes", None), getattr(module, "graph", None)
            names = ([f"p{shapes[name].level}" for name in graph.outputs] if shapes and graph
                     else [str(index) for index in range(len(outputs))])
            self.rms = {f"neck/rms_{name}": float(out.detach().float().pow(2).mean().sqrt())
                        for name, out in zip(names, outputs)}

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if metrics is not None:
            metrics.update(self.rms)
