"""How far a ranker ranks graphs as training does: ``necksearch fidelity --zero-cost`` and ``--supernet``.

Both judge the graphs a fidelity run trained (``fidelity.trained_graphs``): they score every graph without
training it — zero-cost scores at initialisation (``rank/zero_cost.py``), or the inherited-weight mAP of the
supernet of each template trained once (``rank/supernet.py``) — and report Kendall τ and Spearman ρ of each ranker
against the graphs' stand-alone mean mAP at the run's low fidelity, with what each ranking costs. The ``rankers``
entries they produce are what ``cost/rank_fidelity.json`` records and a search's report prints
(``cost/measured.py``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from necksearch.search.core.rankers import LOWEST_FIRST, SCORES, SUPERNET
from necksearch.search.rank.statistics import number_text
from necksearch.search.rank.supernet_screen import template_of, train_templates
from necksearch.search.rank.zero_cost import ranking_value, score_graphs_on_cluster

ZERO_COST_RESULTS = "zero_cost_results"
SUPERNET_RESULTS = "supernet_results"




def judge_zero_cost(run_dir: Path, init_seeds: int = 2, say: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Score the graphs of fidelity run ``run_dir`` (at its low fidelity, with ``init_seeds`` initialisation
    seeds) and correlate each score with their stand-alone mean mAP there; writes ``zero_cost_results.{json,md}``."""
    from necksearch.search.fidelity import collect, sub_settings, trained_graphs
    from necksearch.search.rank.statistics import rank_correlation
    from necksearch.search.core.settings import normalise
    from necksearch.search.engine.run import ray_session
    say = say or (lambda text: print(text, flush=True))
    fidelity, space, samples, measured = trained_graphs(run_dir)
    table = collect(fidelity, list(samples))
    graphs = [(name, space.freeze(sample).to_dict()) for name, sample in samples.items()]
    by_init = [normalise(sub_settings(fidelity, "low", seed, len(samples))) for seed in range(init_seeds)]
    by_seed = {}
    with ray_session(by_init[0]):
        for seed, settings in enumerate(by_init):
            say(f"scoring {len(graphs)} graphs at initialisation seed {seed} ...")
            by_seed[seed] = score_graphs_on_cluster(settings, settings.recipe(), graphs, fidelity.max_concurrent)
    names = [name for name, _ in graphs]
    results = {"run": str(run_dir), "fidelity": fidelity.low.as_dict(), "graphs": len(names),
               "stand_alone_seeds": {name: len(table[name]["low"]) for name in names},
               "mean_map": {name: measured[name] for name in names},
               "scores": {seed: scored for seed, scored in by_seed.items()},
               "correlation": {ranker: {seed: rank_correlation([ranking_value(by_seed[seed][n], ranker) for n in names],
                                                               [measured[n] for n in names])
                                        for seed in by_seed} for ranker in (*SCORES, *LOWEST_FIRST)},
               "cpu_s_per_graph": {seed: sum(s["cpu_s"] for s in scored.values()) / len(scored)
                                   for seed, scored in by_seed.items()},
               "config": Path(by_init[0].config).name}
    results["rankers"] = zero_cost_entries(results)
    (run_dir / f"{ZERO_COST_RESULTS}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (run_dir / f"{ZERO_COST_RESULTS}.md").write_text(zero_cost_markdown(results))
    say(zero_cost_markdown(results))
    return results


def zero_cost_entries(results: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The ``rankers`` entries of ``search/cost/rank_fidelity.json`` (``measured.ranker_measured``): per score, τ and ρ
    averaged over the initialisation seeds, for the recipe and fidelity the scores were judged at."""
    entries = []
    for score, by_seed in results["correlation"].items():
        taus = [c["tau"] for c in by_seed.values() if c["tau"] is not None]
        rhos = [c["rho"] for c in by_seed.values() if c["rho"] is not None]
        if taus:
            entries.append({"ranker": score, "config": results["config"], **results["fidelity"],
                            "tau": round(sum(taus) / len(taus), 3), "rho": round(sum(rhos) / len(rhos), 3),
                            "graphs": results["graphs"], "init_seeds": len(by_seed),
                            "source": "benchmarks/results/zero_cost.md"})
    return entries


def zero_cost_markdown(results: Mapping[str, Any]) -> str:
    seeds = sorted(results["cpu_s_per_graph"])
    head = " | ".join(f"τ (init seed {seed}) | ρ (init seed {seed})" for seed in seeds)
    lines = [f"Zero-cost scores against stand-alone training ({results['graphs']} graphs, mean bbox mAP over "
             f"{min(results['stand_alone_seeds'].values())}–{max(results['stand_alone_seeds'].values())} training seeds "
             f"at {results['fidelity']})", "", f"| score | {head} |", "|---|" + "---|---|" * len(seeds)]
    for score, by_seed in results["correlation"].items():
        cells = " | ".join(f"{number_text(by_seed[seed]['tau'], '+.2f')} | "
                           f"{number_text(by_seed[seed]['rho'], '+.2f')}" for seed in seeds)
        lines.append(f"| {score} | {cells} |")
    cost = ", ".join(f"{results['cpu_s_per_graph'][seed]:.1f}" for seed in seeds)
    lines += ["", f"Cost: every score of one graph together, detector built and initialised included: {cost} "
                  "CPU-seconds per graph."]
    return "\n".join(lines) + "\n"




def judge_supernet(run_dir: Path, epochs: int, say: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Train the supernet(s) of fidelity run ``run_dir``'s space at its low fidelity (``epochs`` epochs), score every
    graph the run trained with inherited weights, and correlate with their stand-alone mean mAP there; writes
    ``supernet_results.{json,md}``."""
    from necksearch.search.fidelity import sub_settings, trained_graphs
    from necksearch.search.core.settings import normalise
    from necksearch.search.engine.run import ray_session
    from necksearch.search.rank.supernet import score_paths_on_cluster
    say = say or (lambda text: print(text, flush=True))
    fidelity, space, samples, measured = trained_graphs(run_dir)
    settings = normalise(sub_settings(fidelity, "low", 0, len(samples)))
    recipe = settings.recipe()
    by_template: Dict[str, List[Tuple[str, Dict[str, Any]]]] = {}
    for name, sample in samples.items():
        by_template.setdefault(template_of(space, sample), []).append((name, space.freeze(sample).to_dict()))
    scored: Dict[str, Dict[str, float]] = {}
    with ray_session(settings):
        say(f"training the supernet of {', '.join(by_template)} for {epochs} epochs at {fidelity.low.describe()} ...")
        trained = train_templates(settings, recipe, list(by_template), run_dir, epochs, retries=1)
        for template, graphs in by_template.items():
            say(f"scoring {len(graphs)} {template} graphs with inherited weights ...")
            scored.update(score_paths_on_cluster(settings, recipe, template, run_dir, epochs, graphs,
                                           fidelity.max_concurrent))
    results = supernet_results(run_dir, fidelity, settings, epochs, samples, measured, scored, trained, by_template)
    (run_dir / f"{SUPERNET_RESULTS}.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    (run_dir / f"{SUPERNET_RESULTS}.md").write_text(supernet_markdown(results), encoding="utf-8")
    say(supernet_markdown(results))
    return results


def supernet_results(run_dir: Path, fidelity: Any, settings: Any, epochs: int, samples: Mapping[str, Any],
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
    return {"run": str(run_dir), "fidelity": fidelity.low.as_dict(), "supernet_epochs": epochs, "graphs": len(names),
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
    scores of that template's graphs alone (``supernet (TEMPLATE only)``, what :func:`supernet_entries` records)."""
    from necksearch.search.rank.statistics import rank_correlation
    names = list(supernet_map)
    truth = [measured[n] for n in names]
    correlation = {"supernet": rank_correlation([supernet_map[n] for n in names], truth),
                   "params": rank_correlation([params[n] for n in names], truth)}
    for template, inside in templates.items():
        correlation[f"supernet ({template} only)"] = rank_correlation([supernet_map[n] for n in inside],
                                                                     [measured[n] for n in inside])
    return correlation


def pool_supernet_results(judgements: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """Several judgements (``supernet_results.json``) of one recipe, fidelity and supernet length as one, for
    :func:`supernet_entries`: the graphs of all of them, named ``RUN/GRAPH`` (RUN the fidelity run directory's name),
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

    from necksearch.search.core.storage import open_storage, storage_url
    from necksearch.search.core.study import CPU_SECONDS
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


def supernet_entries(results: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The ``rankers`` entries of ``search/cost/rank_fidelity.json`` for this judgement (or several pooled:
    :func:`pool_supernet_results`), one per template (a search screens within one; ``measured.ranker_measured``)."""
    entries = []
    for template, names in results["templates"].items():
        agreement = results["correlation"][f"supernet ({template} only)"]
        if agreement["tau"] is None:
            continue
        entries.append({"ranker": SUPERNET, "template": template, "config": results["config"], **results["fidelity"],
                        "tau": round(agreement["tau"], 3), "rho": round(agreement["rho"], 3), "graphs": len(names),
                        "supernet_epochs": results["supernet_epochs"],
                        "best_supernet_map": max(results["supernet_map"][n] for n in names),
                        "source": "benchmarks/results/supernet.md"})
    return entries


def supernet_markdown(results: Mapping[str, Any]) -> str:
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
