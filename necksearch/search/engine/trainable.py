"""The Ray Tune trainable: one trial = ``necksearch train`` of one graph at the search's fidelity.

``train_trial(config, recipe)`` is a plain function of its config (design.md §5): ``config["settings"]`` is the
search's :class:`SearchSettings` as a dict (Tune's config), rebuilt here into the frozen object once,
``config["trial"]`` what the searcher drew (Optuna trial number, graph, its params and FLOPs, the seed it trains at);
``recipe`` is the search's :class:`~necksearch.train.recipe.Recipe`, resolved once and given to every trial by
``tune.with_parameters`` (Ray's object store, not each trial's config), and trained at the trial's seed: one Tune run of
``necksearch confirm`` trains several seeds, and its ``config["settings"]`` are its first seed's (their ``seed`` and
``fidelity()`` are not the trial's: read ``trial["seed"]``). Its mmengine work dir is
``RUN_DIR/trials/NNNN`` (absolute, so Tune's per-trial working directory does not matter; on a cluster RUN_DIR must
be shared storage), where the trial's ``graph.yaml`` is written for people to read. A retry (Tune's
``max_failures``) or a resumed search finds ``last_checkpoint`` there, re-reports the last finished epoch
(``reports.jsonl``; the search may have missed it) and continues from there. Any exception is written to
``failure.json`` first, so the study records why; the space's ``max_train_cost`` refusal (``TrainCostExceeded``) is
written there too but ends the trial without an error: it is final, so Tune neither retries it nor logs a traceback.
With ``workers`` > 1 the trial trains in that many processes (``engine.distributed``: DDP, one per GPU or
gloo on CPU) and this function relays rank 0's reports to Tune; a failed rank's error is recorded the same way.
"""
from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional

if TYPE_CHECKING:
    from necksearch.search.core.settings import SearchSettings
    from necksearch.train.recipe import Recipe

FAILURE_FILE = "failure.json"
GRAPH_FILE = "graph.yaml"


def trial_dir(run_dir: Any, number: int) -> Path:
    return Path(run_dir) / "trials" / f"{int(number):04d}"


def train_trial(config: Dict[str, Any], recipe: "Recipe") -> None:
    """Train the trial's graph on ``recipe``, reporting every epoch to Tune (``TrialReportHook``)."""
    from necksearch.search.core.settings import SearchSettings
    settings, trial = SearchSettings.from_dict(config["settings"]), config["trial"]
    work_dir = trial_dir(settings.run_dir, trial["number"])
    work_dir.mkdir(parents=True, exist_ok=True)
    refused = cost_refusal(work_dir)
    if refused:  # refused by an earlier attempt (a run killed before the search heard, a crashed actor): final
        report_refusal(refused, settings.objectives)
        return
    (work_dir / FAILURE_FILE).unlink(missing_ok=True)  # the reason recorded is the last attempt's
    try:
        _train(settings, recipe, trial, work_dir)
    except Exception as err:  # not SystemExit: Tune ends a stopped or finished trial with sys.exit(0)
        record_failure(work_dir, err)
        from necksearch.search.engine.hooks import TrainCostExceeded
        if not isinstance(err, TrainCostExceeded):
            raise
        report_refusal(str(err), settings.objectives)  # a refusal, not an error: no retry, no traceback


def report_refusal(refusal: str, objectives: Any) -> None:
    """Tell Tune the trial ends refused: one result with the objectives (``None``) and no ``epoch`` (so no scheduler
    or progress line counts it as an epoch). A trial that reported nothing before would otherwise end on Ray's
    automatic result, which fails Tune's strict check for the searcher's metric and stops the whole run."""
    from ray import tune
    tune.report({"refused": refusal, **dict.fromkeys(objectives)})


def _train(settings: "SearchSettings", recipe: "Recipe", trial: Dict[str, Any], work_dir: Path) -> None:
    import contextlib
    import dataclasses
    import sys

    import torch

    from necksearch.graph import NeckGraph
    from necksearch.train.runner import run_config
    torch.set_num_threads(settings.resources.threads)
    graph = NeckGraph.from_dict(trial["graph"], source=f"trial {trial['number']}")
    (work_dir / GRAPH_FILE).write_text(graph.to_yaml(), encoding="utf-8")
    report = dict(type="TrialReportHook", params=int(trial["params"]), flops=int(trial["flops"]),
                  latency="latency" in settings.objectives)
    resume = (work_dir / "last_checkpoint").is_file()
    # a trial resumed from a checkpoint is not bounded (it passed, or its epochs were too short to judge); nor is a
    # distributed one, whose ranks would each time their own iterations (docs/guide/before-launch.md)
    bounded = trial.get("max_train_cost") and not resume and settings.resources.workers <= 1
    hooks = [report] + ([dict(type="TrainCostBoundHook", **trial["max_train_cost"])] if bounded else [])
    cfg = dataclasses.replace(recipe, seed=int(trial["seed"])).training_config(
        graph, work_dir=work_dir, resume=resume, extra_hooks=hooks, keep_checkpoints=1)  # the last resumes; 25 MB each
    import necksearch.search.engine.hooks  # noqa: F401 - registers TrialReportHook
    cfg.custom_imports["imports"].append("necksearch.search.engine.hooks")
    if settings.gpus_per_trial <= 0:
        cfg.env_cfg = dict(cfg.get("env_cfg", {}), cudnn_benchmark=False)
    if cfg.resume and _announce_last_report(work_dir) >= settings.epochs:
        return  # killed after its last epoch, before the search heard of it: nothing left to train
    if settings.resources.workers > 1:  # several processes, DDP; this one relays rank 0's reports
        from necksearch.search.engine.distributed import run_distributed
        run_distributed(cfg, settings, work_dir)
        return
    with contextlib.redirect_stdout(sys.stderr):
        run_config(cfg)


def _announce_last_report(work_dir: Path) -> int:
    """Report again the last epoch a resumed trial finished (the search may not have received it); its epoch."""
    from ray import tune

    from necksearch.search.engine.hooks import last_report
    last = last_report(work_dir)
    if last is None:
        return 0
    tune.report(last)
    return int(last["epoch"])


def record_failure(work_dir: Path, err: BaseException) -> None:
    """Write why the trial failed (type, message, last frames) to ``WORK_DIR/failure.json``."""
    message = str(err).strip().splitlines()
    record = {"type": type(err).__name__, "message": message[-1] if message else "",
              "traceback": traceback.format_exception(type(err), err, err.__traceback__)[-3:]}
    (work_dir / FAILURE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_failure_record(work_dir: Path) -> Optional[Dict[str, Any]]:
    """The trial's ``failure.json`` ({type, message, traceback}); ``None`` when it left none (or an unreadable one)."""
    try:
        record = json.loads((work_dir / FAILURE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and {"type", "message"} <= set(record) else None


def cost_refusal(work_dir: Path) -> Optional[str]:
    """The space's ``max_train_cost`` refusal the trial's process recorded (``TrainCostExceeded``), if that is how it
    ended; ``None`` otherwise."""
    record = read_failure_record(work_dir)
    return record["message"] if record and record["type"] == "TrainCostExceeded" else None


def read_train_cost(run_dir: Any, number: int) -> Optional[Dict[str, Any]]:
    """What ``TrainCostBoundHook`` measured of trial ``number`` (``None``: not bounded, or not that far)."""
    from necksearch.search.engine.hooks import TRAIN_COST_FILE
    try:
        return json.loads((trial_dir(run_dir, number) / TRAIN_COST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_failure(run_dir: Any, number: int) -> str:
    """The reason a trial failed, in one line, from its ``failure.json``; a process that died without a
    Python exception (killed, out of host memory) leaves none."""
    record = read_failure_record(trial_dir(run_dir, number))
    if record is None:
        return "the trial's process died without a Python error (killed, or out of memory)"
    return f"{record['type']}: {record['message']}"
