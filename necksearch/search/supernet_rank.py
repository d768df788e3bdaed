"""The supernet as a ranker: judged against stand-alone training (``necksearch fidelity --supernet``), and used by
a search to choose which graphs to train (``necksearch search --screen supernet:N``).

A space with several templates gets one supernet per template (weights are shared by node position, which only
means something within one skeleton): the judgement trains one for each template its graphs use and pools the
inherited-weight mAPs; a search screens within the one template ``--template`` names.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from necksearch.search.statistics import number_text

if TYPE_CHECKING:
    from necksearch.search.settings import SearchSettings
    from necksearch.train.recipe import Recipe


RESULTS_FILE = "supernet_results"
RANKER = "supernet"


def template_of(space: Any, sample: Mapping[str, Any]) -> str:
    """The template a sample of ``space`` uses."""
    return sample.get("template", space.templates[0].name)


def train_templates(settings: "SearchSettings", recipe: "Recipe", templates: Sequence[str], run_dir: Path,
                    epochs: int, retries: int) -> Dict[str, Dict[str, Any]]:
    """Train the supernet of each template at once, as Ray tasks with the trial's resources."""
    import ray

    from necksearch.search.supernet import train_supernet
    task = ray.remote(num_cpus=settings.cpus_per_trial, num_gpus=settings.gpus_per_trial,
                      max_retries=retries, retry_exceptions=False)(train_supernet)
    refs = {template: task.remote(settings, recipe, template, Path(run_dir), epochs) for template in templates}
    return {template: ray.get(ref) for template, ref in refs.items()}


def judge_supernet_run(run_dir: Path, epochs: int, say: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Train the supernet(s) of fidelity run ``run_dir``'s space at its low fidelity (``epochs`` epochs), score every
    graph the run trained with inherited weights, and correlate with their stand-alone mean mAP there; writes
    ``supernet_results.{json,md}``."""
    from necksearch.search.fidelity import sub_settings, trained_graphs
    from necksearch.search.run import normalise, ray_session
    from necksearch.search.supernet import score_on_cluster
    say = say or (lambda text: print(text, flush=True))
    fidelity, space, samples, measured = trained_graphs(run_dir)
    settings = normalise(sub_settings(fidelity, "low", 0, len(samples)))
    recipe = settings.recipe()
    by_template: Dict[str, List[Tuple[str, Dict[str, Any]]]] = {}
    for name, sample in samples.items():
        by_template.setdefault(template_of(space, sample), []).append((name, space.freeze(sample).to_dict()))
    scored: Dict[str, Dict[str, float]] = {}
    with ray_session(settings):
        say(f"training the supernet of {', '.join(by_template)} for {epochs} epochs at {fidelity.low} ...")
        trained = train_templates(settings, recipe, list(by_template), run_dir, epochs, retries=1)
        for template, graphs in by_template.items():
            say(f"scoring {len(graphs)} {template} graphs with inherited weights ...")
            scored.update(score_on_cluster(settings, recipe, template, run_dir, epochs, graphs,
                                           fidelity.max_concurrent))
    results = _results(run_dir, fidelity, settings, epochs, samples, measured, scored, trained, by_template)
    (run_dir / f"{RESULTS_FILE}.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    (run_dir / f"{RESULTS_FILE}.md").write_text(results_markdown(results), encoding="utf-8")
    say(results_markdown(results))
    return results


def _results(run_dir: Path, fidelity: Any, settings: Any, epochs: int, samples: Mapping[str, Any],
             measured: Mapping[str, float], scored: Mapping[str, Mapping[str, float]],
             trained: Mapping[str, Mapping[str, Any]], by_template: Mapping[str, Sequence[Tuple[str, Any]]]
             ) -> Dict[str, Any]:
    names = list(samples)
    templates = {t: [n for n, _ in g] for t, g in by_template.items()}
    correlation = correlations(measured, {n: scored[n]["bbox_mAP"] for n in names},
                               {n: scored[n]["params"] for n in names}, templates)
    scoring_cpu_s = sum(scored[n]["cpu_s"] + scored[n]["setup_cpu_s"] for n in names)
    training_cpu_s = sum(t["cpu_seconds"] for t in trained.values())
    stand_alone, basis = stand_alone_cpu_seconds(fidelity)
    return {"run": str(run_dir), "fidelity": fidelity.low, "supernet_epochs": epochs, "graphs": len(names),
            "templates": templates, "mean_map": dict(measured),
            "supernet_map": {n: scored[n]["bbox_mAP"] for n in names},
            "params": {n: scored[n]["params"] for n in names}, "correlation": correlation,
            "cost": {"supernet_training_cpu_s": training_cpu_s, "scoring_cpu_s": scoring_cpu_s,
                     "scoring_cpu_s_per_graph": scoring_cpu_s / len(names),
                     "stand_alone_cpu_s_per_graph": stand_alone, "stand_alone_measured_by": basis},
            "config": Path(settings.config).name}


def correlations(measured: Mapping[str, float], supernet_map: Mapping[str, float], params: Mapping[str, float],
                 templates: Mapping[str, Sequence[str]]) -> Dict[str, Dict[str, Any]]:
    """Kendall τ and Spearman ρ against the stand-alone mAPs ``measured`` (graph → mean mAP): of the supernet's
    scores over every graph (``supernet``), of the neck's parameter count (``params``) and, per template, of the
    scores of that template's graphs alone (``supernet (TEMPLATE only)``, what :func:`ranker_entries` records)."""
    from necksearch.search.statistics import rank_correlation
    names = list(supernet_map)
    truth = [measured[n] for n in names]
    correlation = {"supernet": rank_correlation([supernet_map[n] for n in names], truth),
                   "params": rank_correlation([params[n] for n in names], truth)}
    for template, inside in templates.items():
        correlation[f"supernet ({template} only)"] = rank_correlation([supernet_map[n] for n in inside],
                                                                     [measured[n] for n in inside])
    return correlation


def pool_results(judgements: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """Several judgements (``supernet_results.json``) of one recipe, fidelity and supernet length as one, for
    :func:`ranker_entries`: the graphs of all of them, named ``RUN/GRAPH`` (RUN the fidelity run directory's name),
    each template's pooled, every τ and ρ computed over the pool as :func:`correlations` does. Each judgement
    trained its own supernets, so their costs are not pooled: the result has no ``cost``."""
    first = judgements[0]
    for key in ("fidelity", "config", "supernet_epochs"):
        if any(judgement[key] != first[key] for judgement in judgements):
            raise ValueError(f"judgements of different {key} cannot be pooled: "
                             f"{[judgement[key] for judgement in judgements]}")
    runs = [Path(judgement["run"]).name for judgement in judgements]
    if len(set(runs)) != len(runs):
        raise ValueError(f"judgements of the same fidelity run cannot be pooled: {runs}")
    pooled: Dict[str, Dict[str, Any]] = {"mean_map": {}, "supernet_map": {}, "params": {}}
    templates: Dict[str, List[str]] = {}
    for run, judgement in zip(runs, judgements):
        for key, values in pooled.items():
            values.update((f"{run}/{name}", value) for name, value in judgement[key].items())
        for template, names in judgement["templates"].items():
            templates.setdefault(template, []).extend(f"{run}/{name}" for name in names)
    return {"runs": [judgement["run"] for judgement in judgements], "fidelity": first["fidelity"],
            "supernet_epochs": first["supernet_epochs"], "graphs": len(pooled["mean_map"]), "templates": templates,
            **pooled, "correlation": correlations(pooled["mean_map"], pooled["supernet_map"], pooled["params"],
                                                  templates),
            "config": first["config"]}


def stand_alone_cpu_seconds(fidelity: Any) -> Tuple[Optional[float], str]:
    """Mean CPU-seconds of one complete stand-alone training at the run's low fidelity, and what it was measured
    from: the CPU time the trials recorded (``study.CPU_SECONDS``) where any did; for runs older than that record,
    their wall time × CPUs, which also counts the time other work on the machine took from them."""
    import optuna
    from optuna.trial import TrialState

    from necksearch.search.storage import open_storage, storage_url
    from necksearch.search.study import CPU_SECONDS
    storage = open_storage(storage_url(str(fidelity.run_dir / "study.db"), fidelity.run_dir))
    complete = []
    for summary in optuna.get_all_study_summaries(storage):
        if summary.study_name.startswith("low-seed"):
            trials = optuna.load_study(study_name=summary.study_name, storage=storage).get_trials(deepcopy=False)
            complete += [t for t in trials if t.state == TrialState.COMPLETE and t.duration]
    recorded = [float(t.user_attrs[CPU_SECONDS]) for t in complete if CPU_SECONDS in t.user_attrs]
    if recorded:
        return sum(recorded) / len(recorded), f"process CPU time of {len(recorded)} trainings"
    if not complete:
        return None, "no finished training"
    walls = [t.duration.total_seconds() * float(fidelity.cpus_per_trial) for t in complete]
    return sum(walls) / len(walls), f"wall time × CPUs of {len(walls)} trainings (no CPU time recorded)"


def ranked_cost(results: Mapping[str, Any], architectures: int) -> float:
    """CPU-seconds per ranked architecture when the supernet ranks ``architectures`` of them."""
    cost = results["cost"]
    return cost["supernet_training_cpu_s"] / architectures + cost["scoring_cpu_s_per_graph"]


def ranker_entries(results: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The ``rankers`` entries of ``search/rank_fidelity.json`` for this judgement (or several pooled:
    :func:`pool_results`), one per template (a search screens within one; ``measured.ranker_measured``)."""
    entries = []
    for template, names in results["templates"].items():
        agreement = results["correlation"][f"supernet ({template} only)"]
        if agreement["tau"] is None:
            continue
        entries.append({"ranker": RANKER, "template": template, "config": results["config"], **results["fidelity"],
                        "tau": round(agreement["tau"], 3), "rho": round(agreement["rho"], 3), "graphs": len(names),
                        "supernet_epochs": results["supernet_epochs"],
                        "best_supernet_map": max(results["supernet_map"][n] for n in names),
                        "source": "benchmarks/results/supernet.md"})
    return entries


def results_markdown(results: Mapping[str, Any]) -> str:
    lines = [f"Supernet ({results['supernet_epochs']} epochs, one per template) against stand-alone training "
             f"({results['graphs']} graphs, mean bbox mAP at {results['fidelity']})", "",
             "| ranker | Kendall τ | Spearman ρ | graphs |", "|---|---|---|---|"]
    for ranker, agreement in results["correlation"].items():
        lines.append(f"| {ranker} | {number_text(agreement['tau'], '+.2f')} | {number_text(agreement['rho'], '+.2f')} | "
                     f"{agreement['n']} |")
    lines += ["", "| graph | template | stand-alone mAP | supernet mAP | neck params |", "|---|---|---|---|---|"]
    template = {n: t for t, names in results["templates"].items() for n in names}
    for name in sorted(results["mean_map"], key=lambda n: -results["mean_map"][n]):
        lines.append(f"| {name} | {template[name]} | {results['mean_map'][name]:.3f} | "
                     f"{results['supernet_map'][name]:.3f} | {results['params'][name]:,.0f} |")
    cost = results["cost"]
    lines += ["", f"Cost (CPU-seconds): supernet training {cost['supernet_training_cpu_s']:.0f} in all, scoring "
                  f"{cost['scoring_cpu_s_per_graph']:.1f} per graph (loading included); per ranked architecture "
                  f"{ranked_cost(results, results['graphs']):.0f} for these {results['graphs']}, "
                  f"{ranked_cost(results, 100):.0f} for 100; stand-alone training "
                  + (f"{cost['stand_alone_cpu_s_per_graph']:.0f}" if cost["stand_alone_cpu_s_per_graph"] else "-")
                  + f" per graph ({cost['stand_alone_measured_by']})."]
    return "\n".join(lines) + "\n"



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

    from necksearch.search.run import sampler_of
    from necksearch.search.supernet import SubnetScorer
    from necksearch.space.single_path import one_template
    template_space = one_template(space, settings.template)
    template = template_space.templates[0].name
    training = dataclasses.replace(settings, cpus_per_trial=_training_cpus(settings))
    say(f"training the supernet of template {template} for {settings.supernet_epochs} epochs on "
        f"{training.cpus_per_trial:g} CPUs ...")
    trained = train_templates(training, recipe, [template], settings.run_dir, settings.supernet_epochs,
                              settings.retries)
    say(f"supernet trained ({trained[template]['cpu_seconds']:.0f} CPU-seconds); scoring {count} paths proposed by "
        f"the {settings.sampler} sampler ...")
    actor = ray.remote(num_cpus=settings.cpus_per_trial, num_gpus=settings.gpus_per_trial)(SubnetScorer)
    scorers = [actor.remote(settings, recipe, template, settings.run_dir, settings.supernet_epochs)
               for _ in range(max(1, concurrency))]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler_of(settings), directions=settings.study_directions)
    try:
        return _propose_and_score(settings, space, template_space, study, scorers, count, say)
    finally:  # their CPUs (GPUs) go back to the trials that follow, now
        for scorer in scorers:
            ray.kill(scorer)


def _training_cpus(settings: Any) -> float:
    """The supernet trains alone before any trial: the CPUs of all concurrent trials, within one node's."""
    import ray

    from necksearch.search.preflight import alive_nodes
    largest = max((node.get("CPU", 0) for node in alive_nodes(ray.nodes())), default=settings.cpus_per_trial)
    return max(settings.cpus_per_trial, min(settings.cpus_per_trial * settings.max_concurrent, largest))


def _propose_and_score(settings: Any, space: Any, template_space: Any, study: Any, scorers: List[Any], count: int,
                       say: Callable[[str], None]) -> Dict[str, Dict[str, Any]]:
    """Ask the sampler for paths, keep every scorer busy, tell each result; a duplicate is told its first copy's
    answer (once that copy is scored, if it is still being scored)."""
    import optuna
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
            if template_space.check_rules(sample):  # the searcher would refuse it: not a candidate
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
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
        candidates[name] = {"sample": space.sample_of(graph), "scores": {RANKER: scores["bbox_mAP"], **scores},
                            "optuna": {"params": trial.params, "values": values, "graph_hash": graph_hash,
                                       "graph_yaml": graph.to_yaml()}}
        say(f"  {name}: supernet mAP {scores['bbox_mAP']:.4f} ({len(candidates)}/{count}, {scores['seconds']:.0f} s)")
    return candidates


def record_supernet_trials(settings: Any, study: Any, space: Any, candidates: Mapping[str, Mapping[str, Any]]) -> None:
    """Each path the supernet scored as a finished trial of the search's study (once): its sampler params, values,
    canonical hash and fidelity ``{"strategy": "supernet", ...}`` — never counted as a trained trial."""
    import optuna

    from necksearch.search import study as attrs
    from necksearch.space.single_path import one_template
    if any(attrs.SUPERNET in t.user_attrs for t in study.get_trials(deepcopy=False)):
        return
    distributions = {label: dist.to_optuna() for label, dist in one_template(space, settings.template).labels().items()}
    fidelity = {"strategy": RANKER, "supernet_epochs": settings.supernet_epochs, **settings.fidelity()}
    for name, entry in candidates.items():
        record = entry.get("optuna")
        if record is None:
            continue
        study.add_trial(optuna.trial.create_trial(
            params=record["params"], distributions={k: distributions[k] for k in record["params"]},
            values=record["values"], user_attrs={attrs.SUPERNET: name, attrs.GRAPH_HASH: record["graph_hash"],
                                                 attrs.GRAPH_YAML: record["graph_yaml"], attrs.FIDELITY: fidelity}))
