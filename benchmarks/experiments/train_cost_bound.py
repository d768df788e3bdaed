"""What a sampled graph's training costs on the default proxy against the published necks', and what a
``max_train_cost`` bound (``search_spaces/default.yaml``) at each ratio to the costliest published neck would have
refused in the search campaign (``search_campaign.md``).

Read from the campaign's studies, nothing trained: every trained trial at the default fidelity (3 ep, 128², all data;
the arms' searches, and the confirmations, which hold the published necks' trainings), its CPU-seconds (the training
process's, validation included: ``cpu_s`` of its last report) per epoch reached. Per graph, the mean over its
trainings. The published necks' costs come from their confirmations (3 seeds each, 2 trials at once on 2 cores, as
the searches ran). For each ``--ratios`` r and each arm: the graphs the arm's search trained whose CPU-seconds an
epoch exceed r × the costliest published neck's, their share of the arm's trial CPU, and the best single-seed mAP among
them (what the bound would have cost the search). CPU-seconds an epoch stand in for the seconds of a training
iteration that the bound measures (an epoch is a fixed number of iterations plus a validation, the same for every
graph at one fidelity); with ``--measure-above R`` the bound's own measure is taken too: the training process's
CPU-seconds per training iteration (``necksearch.search.cost.calibrate.calibrate_graph``, what a search calibrates
its ``max_train_cost`` reference with: the median of ``--iterations`` timed after one warm-up, one thread, in this
process) of every published neck and of every distinct searched graph whose CPU-seconds an epoch reach R × the
costliest published neck's, and the refusals are counted on those (a graph below R an epoch is taken to be below the
bound).

    .venv/bin/python benchmarks/experiments/train_cost_bound.py \\
        --runs runs/campaign/campaign-random-s0,runs/campaign/campaign-tpe-s0,runs/found/campaign-random-s0 \\
        --measure-above 0.75 --out benchmarks/results/train_cost_bound
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any, Callable, Dict, List

import optuna

from necksearch.files import write_text_atomic
from necksearch.graph.presets import PUBLISHED_NECKS
from necksearch.search.core import study as attrs

FIDELITY = {"epochs": 3, "image_size": 128, "data_fraction": 1.0}


def trainings(run: Path) -> List[Dict[str, Any]]:
    """Every trained trial of ``run`` at :data:`FIDELITY` with its cost: run, number, label (the preset of a
    published neck, else ``trial-N`` of the search trial it trains), whether a search drew it, cost, mAP."""
    url = f"sqlite:///{run / 'study.db'}"
    name = optuna.get_all_study_summaries(url)[0].study_name
    rows = []
    for trial in optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False):
        user = trial.user_attrs
        fidelity = {key: user.get(attrs.FIDELITY, {}).get(key) for key in FIDELITY}
        epochs, cpu_s = user.get(attrs.EPOCHS_REACHED), user.get(attrs.CPU_SECONDS)
        if fidelity != FIDELITY or not attrs.is_trained(trial) or not epochs or not cpu_s or attrs.REUSED_FROM in user:
            continue  # a reused training is another run's, counted there
        confirm = user.get(attrs.CONFIRM)
        label = user.get(attrs.FIXED_POINT) or (confirm or {}).get("label") or f"trial-{trial.number}"
        rows.append({"run": run.name, "number": trial.number, "label": label, "searched": confirm is None,
                     "hash": user[attrs.GRAPH_HASH],
                     "published": label in PUBLISHED_NECKS, "epochs": epochs, "cpu_s": cpu_s,
                     "cpu_s_per_epoch": cpu_s / epochs, "map": trial.value, "summary": user.get(attrs.SUMMARY, "")})
    return rows


def per_graph(rows: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """Graph key (a published neck's name, or ``RUN:trial-N``) → its mean CPU-seconds an epoch over its trainings."""
    graphs: Dict[str, List[Dict[str, Any]]] = {}
    for row in rows:
        key = row["label"] if row["published"] else f"{row['run']}:{row['label']}"
        graphs.setdefault(key, []).append(row)
    return {key: {"published": group[0]["published"], "summary": group[0]["summary"], "hash": group[0]["hash"],
                  "trainings": len(group),
                  "cpu_s_per_epoch": statistics.mean(r["cpu_s_per_epoch"] for r in group)}
            for key, group in graphs.items()}


def graph_yamls(runs: List[Path]) -> Dict[str, str]:
    """Graph hash → its YAML, from the studies of ``runs``."""
    yamls = {}
    for run in runs:
        url = f"sqlite:///{run / 'study.db'}"
        study = optuna.load_study(study_name=optuna.get_all_study_summaries(url)[0].study_name, storage=url)
        for trial in study.get_trials(deepcopy=False):
            if attrs.GRAPH_HASH in trial.user_attrs and attrs.GRAPH_YAML in trial.user_attrs:
                yamls[trial.user_attrs[attrs.GRAPH_HASH]] = trial.user_attrs[attrs.GRAPH_YAML]
    return yamls


def measure_per_iteration(run: Path, yamls: Dict[str, str], iterations: int) -> Dict[str, Dict[str, float]]:
    """Graph hash → its calibration (``train_cpu_s_per_iter``, ``train_s_per_iter``, ...) on ``run``'s recipe, each
    timed over ``iterations`` training iterations after a warm-up, one thread, one after another in this process."""
    import yaml

    from necksearch.graph import NeckGraph
    from necksearch.search.core.settings import SearchSettings, load_run
    from necksearch.search.cost import calibrate
    settings: SearchSettings = load_run(run, "--runs")
    recipe = settings.recipe()
    calibrate.TRAIN_ITERATIONS = iterations
    graphs = [(graph_hash, NeckGraph.from_dict(yaml.safe_load(text), source=graph_hash).to_dict())
              for graph_hash, text in yamls.items()]
    measured = {}
    for index, (graph_hash, graph) in enumerate(graphs):
        measured.update(calibrate.calibrate_graphs(settings, recipe, [(graph_hash, graph)]))
        print(f"[{index + 1}/{len(graphs)}] {graph['name']}: {measured[graph_hash]['train_cpu_s_per_iter']:.3f} "
              "CPU-s per training iteration", flush=True)
    return measured


def refused_over(rows: List[Dict[str, Any]], cost_of: Callable[[Dict[str, Any]], float],
                 limit: float) -> Dict[str, Dict[str, Any]]:
    """Per run: the trials its search trained whose ``cost_of(row)`` exceeds ``limit``, their share of the run's trial
    CPU-seconds and the best single-seed mAP among them."""
    result = {}
    for run in sorted({row["run"] for row in rows if row["searched"]}):
        searched = [row for row in rows if row["run"] == run and row["searched"]]
        over = [row for row in searched if cost_of(row) > limit]
        result[run] = {"trained": len(searched), "refused": [row["number"] for row in over],
                       "cpu_share": sum(row["cpu_s"] for row in over) / sum(row["cpu_s"] for row in searched),
                       "best_map_refused": max((row["map"] or 0.0 for row in over), default=None)}
    return result


def bounds_table(rows: List[Dict[str, Any]], ratios: List[str], costliest: str,
                 graphs: Dict[str, Dict[str, Any]], per_iteration: Dict[str, float]) -> Dict[str, Dict[str, Any]]:
    """``epoch`` and (when measured) ``iteration`` → ratio → :func:`refused_over` at ratio × the costliest published
    neck's cost: CPU-seconds an epoch, or measured CPU-seconds a training iteration (a graph not measured: below)."""
    per_epoch = graphs[costliest]["cpu_s_per_epoch"]
    table = {"epoch": {r: refused_over(rows, lambda row: row["cpu_s_per_epoch"], float(r) * per_epoch) for r in ratios}}
    if per_iteration:
        reference = per_iteration[graphs[costliest]["hash"]]
        table["iteration"] = {r: refused_over(rows, lambda row: per_iteration.get(row["hash"], 0.0),
                                              float(r) * reference) for r in ratios}
    return table


def render(graphs: Dict[str, Dict[str, Any]], bounds: Dict[str, Dict[str, Any]], costliest: str,
           per_iteration: Dict[str, float]) -> str:
    fpn, top = graphs["fpn"]["cpu_s_per_epoch"], graphs[costliest]["cpu_s_per_epoch"]
    lines = ["# What a sampled graph's training costs, and a bound on it", "",
             "CPU-seconds an epoch of each graph the search campaign trained at the default fidelity (3 ep, 128², all "
             "data; 2 trials at once on 2 cores; `benchmarks/experiments/train_cost_bound.py`), against the published "
             f"necks' (their confirmations, 3 seeds each). The costliest published neck is **{costliest}** "
             f"({top:.1f} s, {top / fpn:.1f}× fpn's {fpn:.1f})."]
    if per_iteration:
        lines += ["", "Measured CPU-seconds per training iteration (the measure `max_train_cost` bounds; the "
                  "calibration of a search's launch, one thread) of every published neck and every distinct searched "
                  "graph within reach of the bound; a graph not measured is taken to be below it."]
    lines += ["", "| measured per | max_train_cost ratio | run | trained graphs | refused | their share of the run's "
              "CPU | best mAP among them |", "|---|---|---|---|---|---|---|"]
    for per, ratios in bounds.items():
        for ratio, runs in ratios.items():
            for run, entry in runs.items():
                best = "—" if entry["best_map_refused"] is None else f"{entry['best_map_refused']:.3f}"
                lines.append(f"| {per} | {ratio} | {run} | {entry['trained']} | {len(entry['refused'])} | "
                             f"{entry['cpu_share']:.0%} | {best} |")
    reference = per_iteration.get(graphs[costliest]["hash"]) if per_iteration else None
    lines += ["", f"| graph | trainings | CPU-s an epoch | × fpn | × {costliest} | CPU-s a training iteration | "
              f"× {costliest} | |", "|---|---|---|---|---|---|---|---|"]
    for key, graph in sorted(graphs.items(), key=lambda item: -item[1]["cpu_s_per_epoch"]):
        cost, iteration = graph["cpu_s_per_epoch"], per_iteration.get(graph["hash"])
        measured = f"{iteration:.3f} | {iteration / reference:.2f}" if iteration and reference else "– | –"
        lines.append(f"| {key} | {graph['trainings']} | {cost:.1f} | {cost / fpn:.1f} | {cost / top:.2f} | "
                     f"{measured} | {'published' if graph['published'] else graph['summary']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", required=True, help="run directories, comma-separated")
    parser.add_argument("--ratios", default="1.0,1.25,1.5")
    parser.add_argument("--measure-above", type=float, help="measure CPU-seconds per training iteration of the "
                        "published necks and of the searched graphs at least this × the costliest one's an epoch")
    parser.add_argument("--iterations", type=int, default=5, help="training iterations timed per graph (default 5)")
    parser.add_argument("--out", required=True, help="output path without suffix (.json and .md are written)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runs = [Path(run) for run in args.runs.split(",")]
    rows = list({(row["run"], row["number"]): row  # a copy of a run (runs/found/RUN) holds its search's trials too
                 for run in runs for row in trainings(run)}.values())
    graphs = per_graph(rows)
    costliest = max(PUBLISHED_NECKS, key=lambda name: graphs[name]["cpu_s_per_epoch"])
    per_iteration: Dict[str, float] = {}
    if args.measure_above is not None:
        limit = args.measure_above * graphs[costliest]["cpu_s_per_epoch"]
        chosen = {g["hash"] for g in graphs.values() if g["published"] or g["cpu_s_per_epoch"] >= limit}
        yamls = {h: text for h, text in graph_yamls(runs).items() if h in chosen}
        measured = measure_per_iteration(runs[0], yamls, args.iterations)
        per_iteration = {h: cost["train_cpu_s_per_iter"] for h, cost in measured.items()}
    bounds = bounds_table(rows, args.ratios.split(","), costliest, graphs, per_iteration)
    record = {"fidelity": FIDELITY, "costliest_published": costliest, "rows": rows, "graphs": graphs,
              "measured_above": args.measure_above, "iterations": args.iterations,
              "per_iteration_cpu_s": per_iteration, "bounds": bounds}
    out = Path(args.out)
    write_text_atomic(out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    text = render(graphs, bounds, costliest, per_iteration)
    write_text_atomic(out.with_suffix(".md"), text)
    print(text)


if __name__ == "__main__":
    main()
