"""How far a ranker ranks graphs as training does: ``necksearch fidelity --zero-cost`` and ``--supernet``.

A ranker orders graphs without training each to the end (:class:`Ranker`): zero-cost scores at initialisation
(:class:`ZeroCost`, ``rank/zero_cost.py``) or the inherited-weight mAP of the supernet of each template, trained once
(:class:`Supernet`, ``rank/supernet.py``); the neck's parameter count is one of the zero-cost scores, and the supernet
judgement reports it beside its own for reference. :func:`judge` holds every ranker to the same test: the graphs a
fidelity run trained (:class:`JudgedRun`), their stand-alone mean mAP at the run's low fidelity as the truth, and
Kendall τ and Spearman ρ of each ordering the ranker offers against it, with what the ranking costs. It writes
``RUN_DIR/<ranker>_results.{json,md}``; the ``rankers`` entries it produces are what ``cost/rank_fidelity.json``
records and a search's report prints (``cost/measured.py``). A new ranker implements :class:`Ranker`.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

from necksearch.search.core.rankers import LOWEST_FIRST, SCORES, SUPERNET
from necksearch.search.core.settings import SearchSettings
from necksearch.search.rank.statistics import number_text, rank_correlation
from necksearch.search.rank.supernet_screen import template_of, train_templates
from necksearch.search.rank.zero_cost import ranking_value, score_graphs_on_cluster
from necksearch.train.fidelity import Fidelity


@dataclasses.dataclass(frozen=True)
class JudgedRun:
    """What a ranker is judged against: a fidelity run's settings (``run_settings``), its space, the graphs it trained
    at least once at its low fidelity (name → space sample) and their final mAP there per seed (``low_maps``)."""

    run_dir: Path
    run_settings: Any
    space: Any
    samples: Dict[str, Dict[str, Any]]
    low_maps: Dict[str, Dict[int, float]]

    @property
    def measured(self) -> Dict[str, float]:
        """Each graph's stand-alone mean final mAP over its seeds: the truth a ranker is judged against."""
        return {name: sum(maps.values()) / len(maps) for name, maps in self.low_maps.items()}

    def settings(self, seed: int = 0) -> SearchSettings:
        """The search at the run's low fidelity with ``seed`` (``fidelity.sub_settings``), normalised."""
        from necksearch.search.core.settings import normalise
        from necksearch.search.fidelity import sub_settings
        return normalise(sub_settings(self.run_settings, "low", seed, len(self.samples)))

    def graphs(self) -> List[Tuple[str, Dict[str, Any]]]:
        """(name, graph dict) of every judged graph, in the run's order."""
        return [(name, self.space.freeze(sample).to_dict()) for name, sample in self.samples.items()]


class Ranker(Protocol):
    """A way to rank graphs without training each to the end, as :func:`judge` tests it."""

    #: The results' file stem in the run directory (``RUN_DIR/<stem>.{json,md}``).
    results_file: str

    def judge(self, run: JudgedRun, say: Callable[[str], None]) -> Dict[str, Any]:
        """Score ``run``'s graphs (inside a Ray session) and return what the ranker measured: its scores, the
        ``correlation`` of each ordering it offers with ``run.measured``, its cost."""

    def entries(self, results: Mapping[str, Any]) -> List[Dict[str, Any]]:
        """The ``rankers`` entries of ``cost/rank_fidelity.json`` that ``results`` support."""

    def markdown(self, results: Mapping[str, Any]) -> str:
        """The results as Markdown."""


def judge(run_dir: Path, ranker: Ranker, say: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Judge ``ranker`` on the graphs fidelity run ``run_dir`` trained; write and return the results."""
    from necksearch.search.engine.run import ray_session
    from necksearch.search.fidelity import trained_table
    say = say or (lambda text: print(text, flush=True))
    run = JudgedRun(Path(run_dir), *trained_table(run_dir))
    settings = run.settings()
    with ray_session(settings.resources):
        measured = ranker.judge(run, say)
    results = {"run": str(run_dir), "fidelity": run.run_settings.low.as_dict(), "config": Path(settings.config).name,
               "graphs": len(run.samples), "mean_map": dict(run.measured), **measured}
    results["rankers"] = ranker.entries(results)
    text = ranker.markdown(results)
    (run.run_dir / f"{ranker.results_file}.json").write_text(json.dumps(results, indent=2, default=str) + "\n",
                                                             encoding="utf-8")
    (run.run_dir / f"{ranker.results_file}.md").write_text(text, encoding="utf-8")
    say(text)
    return results


# ---------------------------------------------------------------------------------------------- zero-cost scores


@dataclasses.dataclass(frozen=True)
class ZeroCost:
    """Every zero-cost score (:data:`~necksearch.search.core.rankers.SCORES`, and the lowest-first orderings of
    :data:`~necksearch.search.core.rankers.LOWEST_FIRST`) at ``init_seeds`` initialisation seeds."""

    init_seeds: int = 2
    results_file: str = "zero_cost_results"

    def judge(self, run: JudgedRun, say: Callable[[str], None]) -> Dict[str, Any]:
        names, graphs = list(run.samples), run.graphs()
        by_seed = {}
        for seed in range(self.init_seeds):
            settings = run.settings(seed)
            say(f"scoring {len(graphs)} graphs at initialisation seed {seed} ...")
            by_seed[seed] = score_graphs_on_cluster(settings, settings.recipe(), graphs, run.run_settings.max_concurrent)
        measured = run.measured
        truth = [measured[n] for n in names]
        return {"stand_alone_seeds": {name: len(run.low_maps[name]) for name in names},
                "scores": by_seed,
                "correlation": {ranker: {seed: rank_correlation([ranking_value(by_seed[seed][n], ranker) for n in names],
                                                                truth) for seed in by_seed}
                                for ranker in (*SCORES, *LOWEST_FIRST)},
                "cpu_s_per_graph": {seed: sum(s["cpu_s"] for s in scored.values()) / len(scored)
                                    for seed, scored in by_seed.items()}}

    def entries(self, results: Mapping[str, Any]) -> List[Dict[str, Any]]:
        return zero_cost_entries(results)

    def markdown(self, results: Mapping[str, Any]) -> str:
        return zero_cost_markdown(results)


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
             f"at {Fidelity.of(results['fidelity']).describe()})", "", f"| score | {head} |", "|---|" + "---|---|" * len(seeds)]
    for score, by_seed in results["correlation"].items():
        cells = " | ".join(f"{number_text(by_seed[seed]['tau'], '+.2f')} | "
                           f"{number_text(by_seed[seed]['rho'], '+.2f')}" for seed in seeds)
        lines.append(f"| {score} | {cells} |")
    cost = ", ".join(f"{results['cpu_s_per_graph'][seed]:.1f}" for seed in seeds)
    lines += ["", f"Cost: every score of one graph together, detector built and initialised included: {cost} "
                  "CPU-seconds per graph."]
    return "\n".join(lines) + "\n"




# ---------------------------------------------------------------------------------------------- the supernet


@dataclasses.dataclass(frozen=True)
class Supernet:
    """The inherited-weight mAP of the supernet of each template the judged graphs use, trained ``epochs`` epochs
    at the run's low fidelity."""

    epochs: int = 6
    results_file: str = "supernet_results"

    def judge(self, run: JudgedRun, say: Callable[[str], None]) -> Dict[str, Any]:
        from necksearch.search.rank.supernet import score_paths_on_cluster
        settings = run.settings()
        recipe = settings.recipe()
        by_template: Dict[str, List[Tuple[str, Dict[str, Any]]]] = {}
        for name, graph in run.graphs():
            by_template.setdefault(template_of(run.space, run.samples[name]), []).append((name, graph))
        say(f"training the supernet of {', '.join(by_template)} for {self.epochs} epochs at "
            f"{run.run_settings.low.describe()} ...")
        trained = train_templates(settings, recipe, list(by_template), run.run_dir, self.epochs, retries=1)
        scored: Dict[str, Dict[str, float]] = {}
        for template, graphs in by_template.items():
            say(f"scoring {len(graphs)} {template} graphs with inherited weights ...")
            scored.update(score_paths_on_cluster(settings, recipe, template, run.run_dir, self.epochs, graphs,
                                                 run.run_settings.max_concurrent))
        templates = {t: [n for n, _ in g] for t, g in by_template.items()}
        return supernet_results(run.run_settings, self.epochs, run.measured, scored, trained, templates)

    def entries(self, results: Mapping[str, Any]) -> List[Dict[str, Any]]:
        return supernet_entries(results)

    def markdown(self, results: Mapping[str, Any]) -> str:
        return supernet_markdown(results)


def supernet_results(fidelity: Any, epochs: int, measured: Mapping[str, float],
                     scored: Mapping[str, Mapping[str, float]], trained: Mapping[str, Mapping[str, Any]],
                     templates: Mapping[str, List[str]]) -> Dict[str, Any]:
    """What the supernet judgement measured: each graph's inherited-weight mAP and neck parameters, their agreement
    with ``measured`` (:func:`correlations`), and the cost against stand-alone training."""
    names = [name for inside in templates.values() for name in inside]
    correlation = correlations(measured, {n: scored[n]["bbox_mAP"] for n in names},
                               {n: scored[n]["params"] for n in names}, templates)
    scoring_cpu_s = sum(scored[n]["cpu_s"] + scored[n]["setup_cpu_s"] for n in names)
    stand_alone, basis = stand_alone_cpu_seconds(fidelity)
    return {"supernet_epochs": epochs, "templates": dict(templates),
            "supernet_map": {n: scored[n]["bbox_mAP"] for n in names},
            "params": {n: scored[n]["params"] for n in names}, "correlation": correlation,
            "cost": {"supernet_training_cpu_s": sum(t["cpu_seconds"] for t in trained.values()),
                     "scoring_cpu_s": scoring_cpu_s, "scoring_cpu_s_per_graph": scoring_cpu_s / len(names),
                     "stand_alone_cpu_s_per_graph": stand_alone, "stand_alone_measured_by": basis}}


def correlations(measured: Mapping[str, float], supernet_map: Mapping[str, float], params: Mapping[str, float],
                 templates: Mapping[str, Sequence[str]]) -> Dict[str, Dict[str, Any]]:
    """Kendall τ and Spearman ρ against the stand-alone mAPs ``measured`` (graph → mean mAP): of the supernet's
    scores over every graph (``supernet``), of the neck's parameter count (``params``) and, per template, of the
    scores of that template's graphs alone (``supernet (TEMPLATE only)``, what :func:`supernet_entries` records)."""
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
             f"({results['graphs']} graphs, mean bbox mAP at {Fidelity.of(results['fidelity']).describe()})", "",
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
