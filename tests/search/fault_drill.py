"""A fire drill for the search's fault handling (test code, never shipped): ``FaultDrillHook`` makes named graphs
fail on purpose — raise, NaN loss, process killed — once or always.

Loaded as an operation plugin (``NECKSEARCH_PLUGINS=tests/search/fault_drill.py``), so that every trial's process
registers the hook in mmengine's HOOKS before its config (``tests/search/configs/fault_drill.py``) names it; the
unit tests import it. It imports nothing of necksearch at load time: plugins load while the catalogue is built.
"""
from __future__ import annotations

import math
import os
import signal
from pathlib import Path
from typing import Dict

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class FaultDrillHook(Hook):
    """``faults``: graph name → ``raise``, ``nan`` or ``kill``, with ``_once`` to fail only the first attempt
    (a marker file in the work dir remembers it); the fault fires at the first iteration of ``epoch``."""

    priority = "VERY_HIGH"
    KINDS = ("raise", "nan", "kill")

    def __init__(self, faults: Dict[str, str], epoch: int = 1) -> None:
        for kind in faults.values():
            if kind.removesuffix("_once") not in self.KINDS:
                raise ValueError(f"FaultDrillHook: unknown fault {kind!r}; use raise, nan or kill (+ _once)")
        self.faults = dict(faults)
        self.epoch = int(epoch)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        from necksearch.search.engine.hooks import neck_graph
        kind = self.faults.get(neck_graph(runner).name)
        if kind is None or runner.epoch + 1 != self.epoch or batch_idx != 0:
            return
        marker = Path(runner.work_dir) / "fault_drill_fired"
        if kind.endswith("_once") and marker.exists():
            return
        marker.touch()
        self.fire(kind.removesuffix("_once"), runner)

    @staticmethod
    def fire(kind: str, runner) -> None:
        if kind == "raise":
            raise RuntimeError("fault drill: this trial raises on purpose")
        if kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        with torch.no_grad():  # nan: poison one weight, so the next loss is NaN
            next(runner.model.parameters()).fill_(math.nan)
