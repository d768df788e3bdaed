"""The supernet as a ranker: a search chooses which graphs to train by it (``necksearch search --screen
supernet:N``), and ``necksearch fidelity --supernet`` judges it against stand-alone training (``search/judge.py``).

A space with several templates gets one supernet per template (weights are shared by node position, which only
means something within one skeleton): the judgement trains one for each template its graphs use and pools the
inherited-weight mAPs; a search screens within the one template ``--template`` names.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Sequence, Tuple

from necksearch.search.core import study as attrs
from necksearch.search.core.rankers import SUPERNET

if TYPE_CHECKING:
    from necksearch.search.core.settings import SearchSettings
    from necksearch.train.recipe import Recipe


def template_of(space: Any, sample: Mapping[str, Any]) -> str:
    """The template a sample of ``space`` uses."""
    return sample.get("template", space.templates[0].name)


def train_templates(settings: "SearchSettings", recipe: "Recipe", templates: Sequence[str], run_dir: Path,
                    epochs: int, retries: int) -> Dict[str, Dict[str, Any]]:
    """Train the supernet of each template at once, as Ray tasks with the trial's resources."""
    import ray

    from necksearch.search.rank.supernet import train_supernet
    task = ray.remote(**settings.resources.ray_options(), max_retries=retries, retry_exceptions=False)(train_supernet)
    refs = {template: task.remote(settings, recipe, template, Path(run_dir), epochs) for template in templates}
    return {template: ray.get(ref) for template, ref in refs.items()}


# ---------------------------------------------------------------------------------------------- search


def screen_by_supernet(settings: "SearchSettings", recipe: "Recipe", space: Any, count: int, concurrency: int,
                       say: Callable[[str], None]) -> Dict[str, Dict[str, Any]]:
    """``--screen supernet:N``: train the supernet of ``--template`` (a Ray task, resumed if a checkpoint is there),
    then let the search's sampler propose N distinct paths of the template, each scored with inherited weights by
    one of ``concurrency`` Ray actors that hold the supernet. Returns the candidates for ``screen.json``: name →
    {sample (of the whole space), scores, optuna (the sampler's params and values, recorded into the study by
    :func:`record_supernet_trials`)}."""
    import optuna
    import ray

    from necksearch.search.core.settings import sampler_of
    from necksearch.search.rank.supernet import SubnetScorer
    from necksearch.space.single_path import one_template
    template_space = one_template(space, settings.template)
    template = template_space.templates[0].name
    training = dataclasses.replace(settings, cpus_per_trial=_training_cpus(settings.resources))
    say(f"training the supernet of template {template} for {settings.supernet_epochs} epochs on "
        f"{training.cpus_per_trial:g} CPUs ...")
    trained = train_templates(training, recipe, [template], settings.run_dir, settings.supernet_epochs,
                              settings.retries)
    say(f"supernet trained ({trained[template]['cpu_seconds']:.0f} CPU-seconds); scoring {count} paths proposed by "
        f"the {settings.sampler} sampler ...")
    actor = ray.remote(**settings.resources.ray_options())(SubnetScorer)
    scorers = [actor.remote(settings, recipe, template, settings.run_dir, settings.supernet_epochs)
               for _ in range(max(1, concurrency))]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler_of(settings), directions=settings.study_directions)
    try:
        return _propose_and_score(settings, space, template_space, study, scorers, count, say)
    finally:  # their CPUs (GPUs) go back to the trials that follow, now
        for scorer in scorers:
            ray.kill(scorer)


def _training_cpus(resources: Any) -> float:
    """The supernet trains alone before any trial: the CPUs of all concurrent trials, within one node's."""
    import ray

    from necksearch.search.cost.preflight import alive_nodes
    largest = max((node.get("CPU", 0) for node in alive_nodes(ray.nodes())), default=resources.cpus_per_trial)
    return max(resources.cpus_per_trial, min(resources.cpus_per_trial * resources.max_concurrent, largest))


def _propose_and_score(settings: Any, space: Any, template_space: Any, study: Any, scorers: List[Any], count: int,
                       say: Callable[[str], None]) -> Dict[str, Dict[str, Any]]:
    """Ask the sampler for paths, keep every scorer busy, tell each result; a duplicate is told its first copy's
    answer (once that copy is scored, if it is still being scored)."""
    import ray

    from necksearch.analysis.complexity import count_neck
    candidates: Dict[str, Dict[str, Any]] = {}
    by_hash: Dict[str, List[float]] = {}
    waiting: Dict[str, List[Any]] = {}  # hash → duplicate trials drawn while its first copy was being scored
    pending: Dict[Any, Tuple[Any, Any, Any, Any]] = {}
    idle, draws = list(scorers), 0
    while len(candidates) + len(pending) < count or pending:
        while idle and len(candidates) + len(pending) < count and draws < 50 * count:
            draws += 1
            trial = study.ask()
            sample = template_space.suggest(trial)
            violations = template_space.check_rules(sample)
            if violations:  # the searcher would refuse it: not a candidate
                attrs.tell_refused(study, trial, violations)
                continue
            graph = template_space.freeze(sample)
            graph_hash = graph.canonical_hash()
            if graph_hash in by_hash:
                study.tell(trial, by_hash[graph_hash])
                continue
            if graph_hash in waiting:
                waiting[graph_hash].append(trial)
                continue
            waiting[graph_hash] = []
            scorer = idle.pop()
            pending[scorer.score.remote(graph.to_dict())] = (scorer, trial, graph, graph_hash)
        if not pending:
            say(f"--screen supernet:{count}: the template gave only {len(candidates)} distinct graphs in {draws} "
                f"draws; screening those")
            break
        [done], _ = ray.wait(list(pending), num_returns=1)
        scorer, trial, graph, graph_hash = pending.pop(done)
        idle.append(scorer)
        scores = ray.get(done)
        params, flops = count_neck(graph)
        values = [{"map": scores["bbox_mAP"], "params": params, "flops": flops}[name] for name in settings.objectives]
        for told in (trial, *waiting.pop(graph_hash)):
            study.tell(told, values)
        by_hash[graph_hash] = values
        name = f"supernet{len(candidates):03d}"
        candidates[name] = {"sample": space.sample_of(graph), "scores": {SUPERNET: scores["bbox_mAP"], **scores},
                            "optuna": {"params": trial.params, "values": values, "graph_hash": graph_hash,
                                       "graph_yaml": graph.to_yaml()}}
        say(f"  {name}: supernet mAP {scores['bbox_mAP']:.4f} ({len(candidates)}/{count}, {scores['seconds']:.0f} s)")
    return candidates


def record_supernet_trials(settings: Any, study: Any, space: Any, candidates: Mapping[str, Mapping[str, Any]]) -> None:
    """Each path the supernet scored as a finished trial of the search's study (once): its sampler params, values,
    canonical hash and fidelity ``{"strategy": "supernet", ...}`` — never counted as a trained trial."""
    import optuna

    from necksearch.space.single_path import one_template
    if any(attrs.SCORED_BY_SUPERNET in t.user_attrs for t in study.get_trials(deepcopy=False)):
        return
    distributions = {label: dist.to_optuna() for label, dist in one_template(space, settings.template).labels().items()}
    fidelity = {"strategy": SUPERNET, "supernet_epochs": settings.supernet_epochs, **settings.fidelity()}
    for name, entry in candidates.items():
        record = entry.get("optuna")
        if record is None:
            continue
        study.add_trial(optuna.trial.create_trial(
            params=record["params"], distributions={k: distributions[k] for k in record["params"]},
            values=record["values"], user_attrs={attrs.SCORED_BY_SUPERNET: name, attrs.GRAPH_HASH: record["graph_hash"],
                                                 attrs.GRAPH_YAML: record["graph_yaml"], attrs.FIDELITY: fidelity}))
