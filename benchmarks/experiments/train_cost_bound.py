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
graph at one fidelity).

    .venv/bin/python benchmarks/experiments/train_cost_bound.py \\
        --runs runs/campaign/campaign-random-s0,runs/campaign/campaign-tpe-s0,runs/found/campaign-random-s0 \\
        --out benchmarks/results/train_cost_bound
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any, Dict, List

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
                     "published": label in PUBLISHED_NECKS, "epochs": epochs, "cpu_s": cpu_s,
                     "cpu_s_per_epoch": cpu_s / epochs, "map": trial.value, "summary": user.get(attrs.SUMMARY, "")})
    return rows


def per_graph(rows: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """Graph key (a published neck's name, or ``RUN:trial-N``) → its mean CPU-seconds an epoch over its trainings."""
    graphs: Dict[str, List[Dict[str, Any]]] = {}
    for row in rows:
        key = row["label"] if row["published"] else f"{row['run']}:{row['label']}"
        graphs.setdefault(key, []).append(row)
    return {key: {"published": group[0]["published"], "summary": group[0]["summary"], "trainings": len(group),
                  "cpu_s_per_epoch": statistics.mean(r["cpu_s_per_epoch"] for r in group)}
            for key, group in graphs.items()}


def refused_at(rows: List[Dict[str, Any]], ratio: float, costliest_s: float) -> Dict[str, Dict[str, Any]]:
    """Per run: the trials its search trained whose CPU-seconds an epoch exceed ``ratio`` × ``costliest_s``."""
    result = {}
    for run in sorted({row["run"] for row in rows if row["searched"]}):
        searched = [row for row in rows if row["run"] == run and row["searched"]]
        over = [row for row in searched if row["cpu_s_per_epoch"] > ratio * costliest_s]
        result[run] = {"trained": len(searched), "refused": [row["number"] for row in over],
                       "cpu_share": sum(row["cpu_s"] for row in over) / sum(row["cpu_s"] for row in searched),
                       "best_map_refused": max((row["map"] or 0.0 for row in over), default=None)}
    return result


def render(graphs: Dict[str, Dict[str, Any]], bounds: Dict[str, Dict[str, Any]], costliest: str) -> str:
    fpn = graphs["fpn"]["cpu_s_per_epoch"]
    lines = ["# What a sampled graph's training costs, and a bound on it", "",
             "CPU-seconds an epoch of each graph the search campaign trained at the default fidelity (3 ep, 128², all "
             "data; 2 trials at once on 2 cores; `benchmarks/experiments/train_cost_bound.py`), against the published "
             f"necks' (their confirmations, 3 seeds each). The costliest published neck is **{costliest}** "
             f"({graphs[costliest]['cpu_s_per_epoch']:.1f} s, {graphs[costliest]['cpu_s_per_epoch'] / fpn:.1f}× "
             f"fpn's {fpn:.1f}).", "",
             "| max_train_cost ratio | run | trained graphs | refused | their share of the run's CPU | best mAP among them |",
             "|---|---|---|---|---|---|"]
    for ratio, runs in bounds.items():
        for run, entry in runs.items():
            best = "—" if entry["best_map_refused"] is None else f"{entry['best_map_refused']:.3f}"
            lines.append(f"| {ratio} | {run} | {entry['trained']} | {len(entry['refused'])} | "
                         f"{entry['cpu_share']:.0%} | {best} |")
    lines += ["", "| graph | trainings | CPU-s an epoch | × fpn | × " + costliest + " | |", "|---|---|---|---|---|---|"]
    for key, graph in sorted(graphs.items(), key=lambda item: -item[1]["cpu_s_per_epoch"]):
        cost = graph["cpu_s_per_epoch"]
        lines.append(f"| {key} | {graph['trainings']} | {cost:.1f} | {cost / fpn:.1f} | "
                     f"{cost / graphs[costliest]['cpu_s_per_epoch']:.2f} | "
                     f"{'published' if graph['published'] else graph['summary']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", required=True, help="run directories, comma-separated")
    parser.add_argument("--ratios", default="1.0,1.25,1.5")
    parser.add_argument("--out", required=True, help="output path without suffix (.json and .md are written)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = list({(row["run"], row["number"]): row  # a copy of a run (runs/found/RUN) holds its search's trials too
                 for run in args.runs.split(",") for row in trainings(Path(run))}.values())
    graphs = per_graph(rows)
    costliest = max(PUBLISHED_NECKS, key=lambda name: graphs[name]["cpu_s_per_epoch"])
    costliest_s = graphs[costliest]["cpu_s_per_epoch"]
    bounds = {ratio: refused_at(rows, float(ratio), costliest_s) for ratio in args.ratios.split(",")}
    record = {"fidelity": FIDELITY, "costliest_published": costliest, "rows": rows, "graphs": graphs,
              "bounds": bounds}
    out = Path(args.out)
    write_text_atomic(out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    write_text_atomic(out.with_suffix(".md"), render(graphs, bounds, costliest))
    print(render(graphs, bounds, costliest))


if __name__ == "__main__":
    main()
