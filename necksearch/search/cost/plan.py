"""A search's plan before it runs (``--dry-run`` prints it), its estimate recorded, and the measured cost after.

The plan: space, trials, fixed points, fidelity, per-trial resources and what the cluster holds, the ASHA rungs
and the epochs they are expected to train in all, each fixed point's measured iteration cost
(:mod:`necksearch.search.cost.calibrate`, a few real iterations on the trial's resources; the reference of the
space's ``max_train_cost`` too, which sets the bound in seconds), and from those the
estimated wall time, CPU-hours and GPU-hours (:mod:`necksearch.search.cost.estimate`). A real run writes the estimate
to ``RUN_DIR/cost.json`` and the study's ``cost_estimate`` attribute before the first trial, and the measured
cost (``cost_actual``) when it ends, so every run shows estimate against actual.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from necksearch.errors import NeckSearchError
from necksearch.files import write_text_atomic
from necksearch.graph.presets import load_preset
from necksearch.search.core import study as attrs
from necksearch.search.cost.calibrate import TRAIN_ITERATIONS
from necksearch.search.cost.estimate import (asha_rungs, describe_cost, estimate, format_duration, mean_cost,
                                             nothing_to_train, within_budgets)
from necksearch.search.core.settings import SearchSettings
from necksearch.space.space import TrainCostBound
from necksearch.train.recipe import Recipe

COST_FILE = "cost.json"
ESTIMATE_ATTR = "cost_estimate"
ACTUAL_ATTR = "cost_actual"
#: Graphs drawn from the space whose mean cost stands for a sampled trial.
COST_SAMPLES = 2


def trial_order(fixed_points: Sequence[str], finished: Sequence[str], remaining: int) -> List[Optional[str]]:
    """The fixed point at each position still to train (``None``: a sampled trial), fixed points first."""
    pending = [name for name in fixed_points if name not in set(finished)]
    return (pending + [None] * remaining)[:remaining]


def make_plan(settings: SearchSettings, recipe: Recipe, space: Any, fixed_points: Mapping[str, Dict[str, Any]],
              order: List[Optional[str]], nodes: List[Dict[str, float]], startup_s: float,
              stored_bound: Optional[Mapping[str, Any]] = None, run_spent_s: float = 0.0) -> Dict[str, Any]:
    """Calibrate, on the trial's resources, the fixed points the search will train and (when it will sample)
    :data:`COST_SAMPLES` graphs drawn from the space; estimate the search from them. When it will sample and the space
    has a ``max_train_cost``, the bound in seconds: ``stored_bound`` (the one a resumed search's study keeps), else
    from its reference, calibrated too; none for distributed trials, which are not bounded. The estimate is cut to
    what the budgets leave (``within_budgets``; ``run_spent_s``: what a resumed run's trainings have spent of
    ``--max-trial-hours`` on its clock)."""
    from necksearch.search.cost.calibrate import calibrate_on_cluster
    from necksearch.search.cost.preflight import cluster_slots
    named = [name for name in order if name is not None]
    draws = _cost_samples(settings, space, fixed_points) if None in order else {}
    graphs = [(name, space.freeze(sample).to_dict())
              for name, sample in [*((n, fixed_points[n]) for n in named), *draws.items()]]
    bound = space.max_train_cost if None in order and settings.resources.workers <= 1 else None
    if bound is not None and stored_bound is None and bound.reference not in named:
        graphs.append((bound_name(bound), load_preset(bound.reference).to_dict()))
    slots = cluster_slots(settings.cpus_per_trial, settings.gpus_per_trial, nodes)
    concurrency = max(1, min(settings.max_concurrent, slots, len(order) or 1))
    rungs = asha_rungs(settings.epochs, settings.grace_epochs, settings.reduction_factor) \
        if settings.scheduler == "asha" else []
    costs: Dict[str, Dict[str, float]] = {}
    cost = nothing_to_train(startup_s)
    if order:
        if not named and not draws:
            raise NeckSearchError(f"space {space.name!r}: no graph to train (no fixed point, and none could be drawn)")
        costs = calibrate_on_cluster(settings, recipe, graphs, max(1, min(concurrency, len(graphs))))
        trial_costs = {name: costs[name] for name in [*named, *draws]}  # the bound's reference trains in no trial
        sampled = mean_cost([costs[name] for name in draws] or [costs[name] for name in named])
        cost = estimate(trials=order, costs=trial_costs, sampled=sampled, epochs=settings.epochs, rungs=rungs,
                        reduction_factor=settings.reduction_factor, concurrency=concurrency,
                        cpus_per_trial=settings.cpus_per_trial, gpus_per_trial=settings.gpus_per_trial,
                        startup_s=startup_s)
    clock = cost_clock(settings, recipe)
    if order:
        cost = within_budgets(
            cost, session_s=settings.max_hours * 3600 if settings.max_hours else None,
            run_left_s=settings.max_trial_hours * 3600 - run_spent_s if settings.max_trial_hours else None,
            threads=settings.cpus_per_trial if clock == "cpu" else 1.0)
    return {"space": space.name, "run_dir": str(settings.run_dir), "num_trials": settings.num_trials,
            "to_train": len(order), "fixed_points": named, "sampled_trials": order.count(None),
            "fidelity": settings.fidelity(), "per_trial": {"cpus": settings.cpus_per_trial, "gpus": settings.gpus_per_trial},
            "cluster": {"nodes": len(nodes), "cpus": sum(n.get("CPU", 0) for n in nodes),
                        "gpus": sum(n.get("GPU", 0) for n in nodes), "trial_slots": slots},
            "rungs": rungs, "calibration": costs, "estimate": cost, "max_hours": settings.max_hours,
            "max_trial_hours": settings.max_trial_hours, "cost_clock": clock,
            "train_cost_bound": (dict(stored_bound) if stored_bound else train_cost_bound(bound, costs, clock))
            if bound is not None and costs else None}


def bound_name(bound: TrainCostBound) -> str:
    """The calibration entry of the reference of the space's ``max_train_cost`` when it is not a fixed point."""
    return f"(bound) {bound.reference}"


#: How the hours of a clock (:func:`cost_clock`) are named in what a search says.
CLOCK_HOURS = {"cpu": "CPU-hours", "wall": "trial-hours (wall)"}


def cost_clock(settings: SearchSettings, recipe: Recipe) -> str:
    """What ``max_train_cost`` times and ``--max-trial-hours`` counts: the training process's CPU-seconds (``cpu``),
    which grow far less than wall seconds when other work shares the machine (though not nothing: a single loaded
    iteration measured 1.1× and over 1.5× augfpn's for one graph, hence the median of several), when a trial trains
    on CPU in one process that loads its own data (the proxies: ``num_workers=0``, as the calibration loads); else
    wall seconds (``wall``: the GPU's work, loader workers' or the other ranks' of a distributed trial is not the
    process's CPU time)."""
    workers = recipe.config().train_dataloader.get("num_workers", 0)
    return "cpu" if settings.gpus_per_trial <= 0 and not workers and settings.workers <= 1 else "wall"


def train_cost_bound(bound: TrainCostBound, costs: Mapping[str, Mapping[str, float]], clock: str) -> Dict[str, Any]:
    """The space's ``max_train_cost`` in seconds on this session's trial resources: ``ratio`` × the reference's
    measured seconds per training iteration on ``clock`` (:func:`cost_clock`), what each sampled trial's
    ``TrainCostBoundHook`` holds to."""
    measured = costs.get(bound.reference, costs.get(bound_name(bound)))
    reference_s = float(measured["train_cpu_s_per_iter" if clock == "cpu" else "train_s_per_iter"])
    return {"reference": bound.reference, "ratio": bound.ratio, "clock": clock, "reference_s_per_iter": reference_s,
            "max_s_per_iter": bound.ratio * reference_s}


def _cost_samples(settings: SearchSettings, space: Any, fixed_points: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Graphs drawn from the space (seeded; not the fixed points) whose mean cost stands for a sampled trial."""
    from necksearch.search.core.draws import seeded_draws
    taken = {space.freeze(sample).canonical_hash() for sample in fixed_points.values()}
    try:
        draws = seeded_draws(space, COST_SAMPLES, settings.seed, taken)
    except NeckSearchError:  # a space with few graphs beyond its fixed points: those stand for the sampled ones
        return {}
    return {f"(drawn {i + 1})": sample for i, sample in enumerate(draws.values())}


def bound_text(bound: Mapping[str, Any]) -> str:
    """The space's ``max_train_cost`` in seconds (``train_cost_bound``), in words."""
    return (f"max_train_cost: a sampled graph is refused if its first training iterations cost more (median of "
            f"{TRAIN_ITERATIONS}) than {bound['ratio']:g} × {bound['reference']}'s {bound['reference_s_per_iter']:.2f} "
            f"{bound['clock']} s = {bound['max_s_per_iter']:.2f} s")


def plan_text(plan: Mapping[str, Any]) -> str:
    """The plan in lines, as ``--dry-run`` prints it."""
    cost, fidelity, cluster = plan["estimate"], plan["fidelity"], plan["cluster"]
    size = f"{fidelity['image_size']}²" if fidelity["image_size"] else "the config's size"
    lines = [f"plan of search {plan['run_dir']} (dry run: nothing trained, nothing written)",
             f"  space {plan['space']}: {plan['to_train']} trials to train of {plan['num_trials']}, fixed points first: "
             f"{', '.join(plan['fixed_points']) or 'none'}",
             f"  fidelity: {fidelity['epochs']} epochs, images {size}, {fidelity['data_fraction']:g} of the training "
             f"data, config {fidelity['config']}, seed {fidelity['seed']}",
             f"  per trial: {plan['per_trial']['cpus']:g} CPUs, {plan['per_trial']['gpus']:g} GPUs; cluster: "
             f"{cluster['nodes']} node(s), {cluster['cpus']:g} CPUs, {cluster['gpus']:g} GPUs -> {cost['concurrency']} "
             f"trial(s) at once",
             "  early stopping: " + (f"ASHA rungs at epochs {', '.join(map(str, plan['rungs']))}; "
                                     if plan["rungs"] else "none; ")
             + f"{cost['expected_epochs']:g} epochs expected in all (at most {plan['to_train'] * fidelity['epochs']})",
             f"  measured on the trial's resources (fixed points, graphs drawn from the space that cost the "
             f"{plan['sampled_trials']} sampled trials, and (bound) the reference of the space's max_train_cost):"]
    lines += [f"    {name:<14} {describe_cost(c)}" for name, c in plan["calibration"].items()]
    lines.append(f"  estimate: {format_duration(cost['wall_s'])} wall, {cost['cpu_hours']:.2f} CPU-hours, "
                 f"{cost['gpu_hours']:.2f} GPU-hours ({cost['trial_seconds'] / 60:.1f} trial-minutes; a full trial "
                 f"about {format_duration(cost['full_trial_s'])}); checkpoints about "
                 f"{cost['disk_bytes'] / 1e9:.2f} GB on disk"
                 + (f"; {cost['budget']} ends it before --num-trials" if cost.get("budget") else ""))
    if plan.get("train_cost_bound"):
        lines.append(f"  {bound_text(plan['train_cost_bound'])}")
    if plan.get("max_hours"):
        lines.append(f"  --max-hours {plan['max_hours']:g}: no trial starts that would end past "
                     f"{format_duration(plan['max_hours'] * 3600)}")
    if plan.get("max_trial_hours"):
        lines.append(f"  --max-trial-hours {plan['max_trial_hours']:g}: no trial starts that would take the run's "
                     f"trainings past {plan['max_trial_hours']:g} {CLOCK_HOURS[plan['cost_clock']]} in all")
    return "\n".join(lines)


def record_estimate(settings: SearchSettings, study: Any, plan: Mapping[str, Any]) -> None:
    """The estimate into ``RUN_DIR/cost.json`` and the study, before the first trial."""
    record = read_cost(settings)
    record["sessions"] = record.get("sessions", []) + [{"started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                                         "plan": dict(plan)}]
    _write_cost(settings, record)
    study.set_user_attr(ESTIMATE_ATTR, plan["estimate"])


def record_actual(settings: SearchSettings, study: Any, wall_s: float, since: float,
                  say: Callable[[str], None]) -> Dict[str, Any]:
    """The measured cost of this session (wall time; trial-seconds of the trials that ran in it), beside the
    estimate in ``cost.json`` and the study; says both."""
    durations = session_trial_seconds(attrs.trained_trials(study.get_trials(deepcopy=False), settings.fidelity()),
                                      since)
    trial_s = sum(durations)
    actual = {"wall_s": round(wall_s, 1), "trials": len(durations), "trial_seconds": round(trial_s, 1),
              "cpu_hours": round(trial_s * settings.cpus_per_trial / 3600, 3),
              "gpu_hours": round(trial_s * settings.gpus_per_trial / 3600, 3)}
    record = read_cost(settings)
    if record.get("sessions"):
        record["sessions"][-1]["actual"] = actual
        estimate_s = record["sessions"][-1]["plan"]["estimate"]["wall_s"]
        actual["wall_vs_estimate"] = round(wall_s / estimate_s, 3) if estimate_s else None
        ratio = f"{actual['wall_vs_estimate']:.2f}x" if actual["wall_vs_estimate"] else "nothing was estimated"
        say(f"cost: {format_duration(wall_s)} wall against {format_duration(estimate_s)} estimated "
            f"({ratio}), {actual['cpu_hours']:.2f} CPU-hours, "
            f"{actual['gpu_hours']:.2f} GPU-hours ({settings.run_dir / COST_FILE})")
    _write_cost(settings, record)
    study.set_user_attr(ACTUAL_ATTR, actual)
    return actual


def session_trial_seconds(trials: Sequence[Any], since: float) -> List[float]:
    """Seconds each of ``trials`` trained in the session that began at ``since`` (a Unix time): those that finished
    in it, from their start or from ``since`` when an earlier, killed session started them (``--resume`` continues
    them from their checkpoints, so only this session's part of their time is its cost)."""
    return [t.datetime_complete.timestamp() - max(t.datetime_start.timestamp(), since) for t in trials
            if t.datetime_start and t.datetime_complete and t.datetime_complete.timestamp() >= since]


def read_cost(settings: SearchSettings) -> Dict[str, Any]:
    """``RUN_DIR/cost.json`` (empty when there is none); one edited into something else is refused, not lost."""
    path = settings.run_dir / COST_FILE
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise NeckSearchError(f"{path}: not a readable cost record ({err}); repair it or move it away") from None
    if not isinstance(record, dict) or not isinstance(record.get("sessions", []), list):
        raise NeckSearchError(f"{path}: not a cost record (expected {{\"sessions\": [...]}}); repair it or move it away")
    return record


def _write_cost(settings: SearchSettings, record: Mapping[str, Any]) -> None:
    write_text_atomic(settings.run_dir / COST_FILE, json.dumps(record, indent=2) + "\n")
