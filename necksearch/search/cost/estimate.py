"""What a search will cost, from measured iteration times: the plan ``--dry-run`` prints and every run records.

The arithmetic, all of it here (torch-free; the measurement is :mod:`necksearch.search.cost.calibrate`):

* a trial that trains ``e`` epochs takes ``import + setup + e · (train_iters · s_train + val_iters · s_val)``
  seconds, from its graph's calibration; sampled trials (not known before they are drawn) are costed at the
  mean of a few graphs drawn from the space (sampled graphs are often heavier than the published ones);
* how many epochs each trial trains under ASHA is simulated with Ray's own rule (``AsyncHyperBandScheduler``'s
  bracket: at each rung a trial stops when its score is below the ``1 - 1/F`` quantile of the scores recorded
  there before it; the first one at a rung always continues), trials arriving in order with independent scores,
  averaged over many draws — so early trials (the fixed points) are expected to run longer than late ones;
* wall time is a list schedule of those trials, in order, over the trials that can run at once
  (``--max-concurrent``, and what the cluster's nodes hold), plus the measured Ray start;
* CPU-hours and GPU-hours are the trial-seconds times the per-trial CPUs and GPUs reserved;
* disk is the last epoch's checkpoint of every trial (what ``--resume`` needs; a trial deletes the one before),
  plus one more per trial running at once (mmengine writes the new checkpoint before deleting the old one);
* a search whose ``--max-trial-hours`` or ``--max-hours`` ends it before ``--num-trials`` is costed at the share of
  those trials its budget leaves (:func:`within_budgets`).
"""
from __future__ import annotations

import heapq
import random
import statistics
from typing import Any, Dict, List, Mapping, Optional, Sequence

#: Simulated searches averaged for the expected epochs per trial.
ASHA_DRAWS = 4000


def asha_rungs(epochs: int, grace_epochs: int, reduction_factor: int) -> List[int]:
    """The epochs at which ASHA may stop a trial (Ray's bracket: grace · F^k below the maximum)."""
    rungs, milestone = [], grace_epochs
    while milestone < epochs:
        rungs.append(milestone)
        milestone *= reduction_factor
    return rungs


def expected_epochs(trials: int, epochs: int, rungs: Sequence[int], reduction_factor: int,
                    draws: int = ASHA_DRAWS, seed: int = 0) -> List[float]:
    """Expected epochs trained by the trial at each position of the search (no rungs: every trial trains all)."""
    if not rungs:
        return [float(epochs)] * trials
    rng = random.Random(seed)
    totals = [0.0] * trials
    for _ in range(draws):
        recorded: Dict[int, List[float]] = {rung: [] for rung in rungs}
        for position in range(trials):
            totals[position] += _asha_epochs(rng.random(), epochs, rungs, recorded, reduction_factor)
    return [total / draws for total in totals]


def _asha_epochs(score: float, epochs: int, rungs: Sequence[int], recorded: Dict[int, List[float]],
                 reduction_factor: int) -> int:
    """Epochs one trial of ``score`` trains, recording it at each rung it reaches (Ray's ``_Bracket.on_result``)."""
    for rung in rungs:
        seen = recorded[rung]
        stop = bool(seen) and score < _percentile(seen, 1 - 1 / reduction_factor)
        seen.append(score)
        if stop:
            return rung
    return epochs


def _percentile(values: List[float], q: float) -> float:
    """numpy's default (linear) percentile, ``q`` in [0, 1]."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def trial_seconds(cost: Mapping[str, float], epochs: float) -> float:
    """Seconds of a trial that trains ``epochs`` epochs, from its calibration."""
    per_epoch = cost["train_iters"] * cost["train_s_per_iter"] + cost["val_iters"] * cost["val_s_per_iter"]
    return cost["import_s"] + cost["setup_s"] + epochs * per_epoch


def mean_cost(costs: Sequence[Mapping[str, float]]) -> Dict[str, float]:
    """The mean of several calibrations (the cost assumed for a sampled trial)."""
    return {key: statistics.fmean(cost[key] for cost in costs) for key in costs[0]}


def makespan(durations: Sequence[float], slots: int) -> float:
    """Finish time of ``durations`` started in order, each as soon as one of ``slots`` is free."""
    free = [0.0] * max(1, slots)
    for duration in durations:
        heapq.heapreplace(free, free[0] + duration)
    return max(free)


def estimate(*, trials: Sequence[Optional[str]], costs: Mapping[str, Mapping[str, float]],
             sampled: Mapping[str, float], epochs: int, rungs: Sequence[int], reduction_factor: int,
             concurrency: int, cpus_per_trial: float, gpus_per_trial: float, startup_s: float) -> Dict[str, Any]:
    """The search's expected cost. ``trials``: the name of the fixed point at each position, ``None`` for a
    sampled one; ``costs``: the calibration of each fixed point (name → :func:`calibrate.calibrate_graph`);
    ``sampled``: the cost assumed for a sampled trial."""
    expected = expected_epochs(len(trials), epochs, rungs, reduction_factor)
    durations = [trial_seconds(costs[name] if name else sampled, e) for name, e in zip(trials, expected)]
    trial_s = sum(durations)
    checkpoints = [(costs[name] if name else sampled)["checkpoint_bytes"] for name in trials]
    disk = sum(checkpoints) + min(concurrency, len(trials)) * max(checkpoints, default=0)
    return {"trials": len(trials), "disk_bytes": int(disk), "expected_epochs": round(sum(expected), 2), "concurrency": concurrency,
            "trial_seconds": round(trial_s, 1), "wall_s": round(startup_s + makespan(durations, concurrency), 1),
            "cpu_hours": round(trial_s * cpus_per_trial / 3600, 3),
            "gpu_hours": round(trial_s * gpus_per_trial / 3600, 3),
            "full_trial_s": round(max(trial_seconds(cost, epochs) for cost in (*costs.values(), sampled)), 1),
            "startup_s": round(startup_s, 1)}


def within_budgets(cost: Mapping[str, Any], *, session_s: Optional[float] = None, run_left_s: Optional[float] = None,
                   threads: float = 1.0) -> Dict[str, Any]:
    """``cost`` (:func:`estimate`, every trial to ``--num-trials``) cut to what the search's budgets let it train:
    ``run_left_s``, what ``--max-trial-hours`` leaves of the run's trainings on its clock (a trial spends its
    seconds times ``threads`` on the CPU clock, as ``budget.Budget`` expects), takes that share of the trials'
    seconds; ``session_s`` (``--max-hours``) bounds the session's wall. Either budget trains nothing when it holds
    less than one full trial (``full_trial_s``: no trial starts that a budget could not finish). The trials' wall,
    seconds, hours and epochs are scaled by the share left (trials cost alike on average); ``budget`` says which
    budget ends the session first (``None``: ``--num-trials``). Without it a budgeted search's estimate was that of
    all its trials (a campaign arm resumed with about 1 of its 2 CPU-hours left: 3 h 01 min estimated, 34 min
    measured; cut to the budget, 28-31 min)."""
    startup, trials_wall, trial = cost["startup_s"], cost["wall_s"] - cost["startup_s"], cost["full_trial_s"]
    limits = {"--num-trials": trials_wall}
    if run_left_s is not None and cost["trial_seconds"]:
        fits = run_left_s >= trial * threads
        limits["--max-trial-hours"] = trials_wall * run_left_s / (cost["trial_seconds"] * threads) if fits else 0.0
    if session_s is not None:
        limits["--max-hours"] = session_s - startup if session_s - startup >= trial else 0.0
    budget = min(limits, key=limits.get)  # a tie keeps --num-trials, first: no budget cuts a search of no trials
    if budget == "--num-trials":
        return {**cost, "budget": None}
    share = limits[budget] / trials_wall
    scaled = {key: round(cost[key] * share, 3)
              for key in ("trial_seconds", "cpu_hours", "gpu_hours", "expected_epochs")}
    return {**cost, **scaled, "wall_s": round(startup + limits[budget], 1), "budget": budget}


def nothing_to_train(startup_s: float) -> Dict[str, Any]:
    """The estimate of a search with every trial finished already (a ``--resume`` of a finished search)."""
    return {"trials": 0, "disk_bytes": 0, "expected_epochs": 0, "concurrency": 0, "trial_seconds": 0.0,
            "wall_s": round(startup_s, 1), "cpu_hours": 0.0, "gpu_hours": 0.0, "full_trial_s": 0.0,
            "startup_s": round(startup_s, 1), "budget": None}


def describe_cost(cost: Mapping[str, float]) -> str:
    """One calibration in words: seconds per training and validation iteration, iterations per epoch."""
    return (f"{cost['train_s_per_iter']:.3f} s/iteration training ({cost['train_iters']:.0f} an epoch), "
            f"{cost['val_s_per_iter']:.3f} s validating ({cost['val_iters']:.0f}), "
            f"set-up {cost['import_s'] + cost['setup_s']:.0f} s")


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"
