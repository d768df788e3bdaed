"""mmengine hooks a search trial adds to ``necksearch train`` (registered in mmengine's HOOKS on import).

* ``TrialReportHook`` — stops a trial whose training loss is not finite, and after every validation
  epoch calls ``ray.tune.report`` with every objective (Ray's multi-objective contract: each report
  carries all of them): ``map`` (COCO bbox mAP), ``params`` and ``flops`` (the searcher's counts),
  ``latency`` (measured once, on the trial's device, when it is an objective), plus ``epoch``,
  ``map_50``, ``segm_map``, the epoch's mean training ``loss``, ``score`` (the scheduler's metric) and
  ``node`` (the Ray node id that ran it), ``cpu_s`` (CPU-seconds the training process has spent training and
  validating, earlier sessions of a resumed trial included; rank 0's alone in a distributed trial: a trial's cost
  that, unlike its wall time, does not grow when other work shares the machine — Ray runs its workers at niceness
  15) and ``train_s`` (the same span in wall seconds: the cost of a trial that trains on a GPU); each report is
  also appended to
  ``WORK_DIR/reports.jsonl``.
  In a distributed trial (``engine.distributed``) only rank 0 reports, and only to the file: its process
  has no Tune session, so the trial's own process relays each new line to Tune.
* ``TrainCostBoundHook`` — the space's ``max_train_cost`` (``space.TrainCostBound``) on a sampled trial: after its
  first training iterations it raises :class:`TrainCostExceeded` if they cost more than the bound (seconds per
  iteration, as the search's calibration measured the reference), and the searcher records the draw as refused.
"""
from __future__ import annotations

import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Optional

from mmengine.dist import get_rank, is_distributed
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from necksearch.search.cost.calibrate import TRAIN_ITERATIONS

#: ``score`` = mAP − TIE_BREAK × loss: mAP decides; among equal mAPs (all 0.0 early in a short proxy,
#: where ASHA could otherwise not rank anyone) the lower training loss ranks higher.
TIE_BREAK = 1e-6
#: Every report also goes to WORK_DIR/reports.jsonl, so that a resumed trial can re-announce where it stands.
REPORTS_FILE = "reports.jsonl"
#: What the space's ``max_train_cost`` measured of the trial (:class:`TrainCostBoundHook`).
TRAIN_COST_FILE = "train_cost.json"
#: The Ray node id a distributed trial's process hands its ranks (they run outside Ray).
NODE_ENV = "NECKSEARCH_RAY_NODE"


@HOOKS.register_module(force=True)
class TrialReportHook(Hook):
    priority = "LOW"

    def __init__(self, params: int, flops: int, latency: bool = False) -> None:
        self.costs = {"params": int(params), "flops": int(flops)}
        self.measure_latency = bool(latency)
        self.losses: list = []
        self.cpu_start, self.cpu_before = time.process_time(), 0.0
        self.wall_start, self.wall_before = time.perf_counter(), 0.0

    def before_train(self, runner) -> None:
        self.cpu_start, self.wall_start = time.process_time(), time.perf_counter()
        last = last_report(Path(runner.work_dir)) or {}
        self.cpu_before, self.wall_before = float(last.get("cpu_s", 0.0)), float(last.get("train_s", 0.0))
        if self.measure_latency and get_rank() == 0:
            from necksearch.analysis.latency import neck_latency_ms
            device = next(runner.model.parameters()).device.type
            self.costs["latency"] = neck_latency_ms(neck_graph(runner), device=device)
        if runner.epoch > int(last.get("epoch", 0)):
            runner.val_loop.run()  # resumed from a checkpoint whose validation never ran (killed in between)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        loss = float((outputs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            raise FloatingPointError(f"training loss is {loss} at epoch {runner.epoch + 1}, iteration {runner.iter + 1}")
        self.losses.append(loss)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        from ray import tune
        metrics = metrics or {}
        loss = sum(self.losses) / len(self.losses) if self.losses else math.nan
        self.losses = []
        if get_rank() != 0:
            return  # rank 0 reports for the whole distributed trial
        mean_ap = float(metrics.get("coco/bbox_mAP", math.nan))
        report = {"epoch": int(runner.epoch), "map": mean_ap, "map_50": float(metrics.get("coco/bbox_mAP_50", math.nan)),
                  "segm_map": float(metrics.get("coco/segm_mAP", math.nan)), "loss": loss,
                  "score": mean_ap - TIE_BREAK * min(loss, 1e3) if math.isfinite(loss) else mean_ap,
                  "node": _node_id(), "cpu_s": self.cpu_before + time.process_time() - self.cpu_start,
                  "train_s": self.wall_before + time.perf_counter() - self.wall_start, **self.costs}
        with open(Path(runner.work_dir) / REPORTS_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(report) + "\n")
        if not is_distributed():  # distributed: no Tune session here; the trial's process relays the file
            tune.report(report)


def _node_id() -> Optional[str]:
    """The Ray node running the trial; a distributed trial's rank has no Ray, its parent names the node."""
    import ray
    if ray.is_initialized():
        return ray.get_runtime_context().get_node_id()
    return os.environ.get(NODE_ENV)


def neck_graph(runner):
    """The trained detector's neck graph, through a DDP wrapper if there is one."""
    from mmengine.model import is_model_wrapper
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    return model.neck.graph


def last_report(work_dir: Path) -> Optional[dict]:
    """The last report written to ``WORK_DIR/reports.jsonl`` (``None`` if none)."""
    path = work_dir / REPORTS_FILE
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return json.loads(lines[-1]) if lines else None


class TrainCostExceeded(RuntimeError):
    """A sampled graph's training iteration costs more than the space's ``max_train_cost``: a refusal, not a
    failure (the trainable records it and ends the trial without an error; the searcher tells it PRUNED with
    ``constraint_violation``)."""


@HOOKS.register_module(force=True)
class TrainCostBoundHook(Hook):
    """Time ``iterations`` training iterations (each from the end of the one before to its own end, data loading
    included, as the calibration times them; never an epoch's first, which follows a validation or, the first of
    all, pays for lazy initialisation; with short epochs they gather over several) on ``clock`` (``cpu``: this
    process's CPU-seconds; ``wall``) and raise :class:`TrainCostExceeded` if their median exceeds
    ``max_s_per_iter``. A trial that ends before it has timed them all is not judged (one iteration alone measured
    1.1× and, on a loaded machine, over 1.5× augfpn's for the same graph)."""

    priority = "VERY_LOW"

    def __init__(self, max_s_per_iter: float, reference: str, ratio: float, reference_s_per_iter: float,
                 clock: str = "cpu", iterations: int = TRAIN_ITERATIONS) -> None:
        self.max_s, self.reference_s = max_s_per_iter, reference_s_per_iter
        self.reference, self.ratio = reference, ratio
        self.clock, self.iterations = clock, iterations
        self.durations: list = []
        self.last: Optional[float] = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        now = time.process_time() if self.clock == "cpu" else time.perf_counter()
        if len(self.durations) < self.iterations and batch_idx > 0 and self.last is not None:
            self.durations.append(now - self.last)
            if len(self.durations) == self.iterations:
                self.check(Path(runner.work_dir))
        self.last = now

    def check(self, work_dir: Path) -> None:
        """Judge the timed iterations; what was measured goes to ``WORK_DIR/train_cost.json`` either way (the
        searcher records it on the trial: ``train_cost``)."""
        median = statistics.median(self.durations)
        (work_dir / TRAIN_COST_FILE).write_text(json.dumps(
            {"s_per_iter": median, "clock": self.clock, "iterations": len(self.durations), "max_s_per_iter": self.max_s,
             "ratio_to_reference": median / self.reference_s if self.reference_s else None}) + "\n", encoding="utf-8")
        if median > self.max_s:
            raise TrainCostExceeded(
                f"max_train_cost: {median:.2f} {self.clock} s per training iteration (median of {len(self.durations)})"
                f" > {self.ratio:g} × {self.reference}'s {self.reference_s:.2f} s = {self.max_s:.2f} s")
