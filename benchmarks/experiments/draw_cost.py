"""What random draws of a space cost to train on the proxy, against the published necks, and what predicts it.

For the nine published necks and ``--draws`` seeded draws of the space (Optuna RandomSampler, ``--sample-seed``;
``core.draws.seeded_draws``), measures seconds per training iteration on the default proxy at the default search's
fidelity (``calibrate.calibrate_graph``: the trial's own config, a few real ``train_step`` calls after a warm-up,
one thread), in one process with fpn timed again after every fifth graph so that machine drift shows, and counts
each neck's params and MACs at COCO scale (``count_neck``: what the space's ``max_neck_params`` /
``max_neck_flops`` bound). Writes one JSON with every number, and prints each graph's ratios to fpn and the Spearman
ρ of MACs and params against the measured seconds.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/experiments/draw_cost.py --draws 24 \\
        --out benchmarks/results/draw_cost.json

``--count-only`` times nothing: it counts the params and MACs of the published necks and the draws (a few seconds for
hundreds of draws) and says how many draws a MAC bound at the costliest published neck would refuse:

    .venv/bin/python benchmarks/experiments/draw_cost.py --count-only --draws 200 --sample-seed 5 \\
        --out benchmarks/results/draw_macs.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from necksearch.graph.presets import PUBLISHED_NECKS
from necksearch.files import write_text_atomic



def graphs_to_measure(space, draws: int, sample_seed: int) -> dict:
    """Name → graph dict: the published necks, then the seeded draws (none equal to a published one)."""
    from necksearch.graph.presets import load_preset
    from necksearch.search.core.draws import seeded_draws
    graphs = {name: load_preset(name).to_dict() for name in PUBLISHED_NECKS}
    taken = {load_preset(name).canonical_hash() for name in PUBLISHED_NECKS}
    for name, sample in seeded_draws(space, draws, sample_seed, taken).items():
        graphs[name] = space.freeze(sample).to_dict()
    return graphs


def measure(graphs: dict) -> dict:
    from necksearch.analysis.complexity import count_neck
    from necksearch.graph import NeckGraph
    from necksearch.search.cost.calibrate import calibrate_graph, prepare_process
    from necksearch.search.core.settings import normalise
    from necksearch.search.core.settings import SearchSettings
    settings = normalise(SearchSettings(name="draw-cost", runs_dir="/tmp/necksearch-draw-cost"))
    recipe = settings.recipe()
    prepare_process(settings.resources)
    rows, fpn_times = {}, []
    for index, (name, graph) in enumerate(graphs.items()):
        if index % 5 == 0:
            fpn_times.append(calibrate_graph(settings, recipe, graphs["fpn"])["train_s_per_iter"])
        cost = calibrate_graph(settings, recipe, graph)
        params, macs = count_neck(NeckGraph.from_dict(graph, source=name))
        rows[name] = {"train_s_per_iter": cost["train_s_per_iter"], "params": params, "macs": macs,
                      "load_avg": os.getloadavg()[0]}
        print(f"{time.strftime('%H:%M:%S')} {name:<12} {cost['train_s_per_iter']:.3f} s/iter  "
              f"{macs / 1e9:.1f} GMACs  {params / 1e6:.2f} M", flush=True)
    return {"rows": rows, "fpn_s_per_iter_repeats": fpn_times}


def count_only(graphs: dict, draws: list) -> dict:
    """Params and MACs of every graph (``count_neck``), and the draws above the costliest published neck's MACs."""
    from necksearch.analysis.complexity import count_neck
    from necksearch.graph import NeckGraph
    rows = {}
    for name, graph in graphs.items():
        params, macs = count_neck(NeckGraph.from_dict(graph, source=name))
        rows[name] = {"params": params, "macs": macs}
    published_max = max(PUBLISHED_NECKS, key=lambda name: rows[name]["macs"])
    drawn = sorted(rows[name]["macs"] for name in draws)
    return {"rows": rows, "summary": {
        "costliest_published": published_max, "costliest_published_macs": rows[published_max]["macs"],
        "draws": len(draws), "draws_over_costliest_published": [n for n in draws
                                                                 if rows[n]["macs"] > rows[published_max]["macs"]],
        "draw_macs_median": statistics.median(drawn), "draw_macs_max": drawn[-1],
        "draw_macs_deciles": statistics.quantiles(drawn, n=10)}}


def summarise(result: dict, draws: list) -> dict:
    from scipy.stats import spearmanr
    rows = result["rows"]
    fpn = statistics.median(result["fpn_s_per_iter_repeats"])
    for row in rows.values():
        row.update(time_vs_fpn=row["train_s_per_iter"] / fpn, macs_vs_fpn=row["macs"] / rows["fpn"]["macs"],
                   params_vs_fpn=row["params"] / rows["fpn"]["params"])
    published_max = max(rows[name]["time_vs_fpn"] for name in PUBLISHED_NECKS)
    seconds = [row["train_s_per_iter"] for row in rows.values()]
    return {"fpn_s_per_iter": fpn, "max_published_time_vs_fpn": published_max,
            "draws_over_max_published_time": [n for n in draws if rows[n]["time_vs_fpn"] > published_max],
            "spearman_macs_time": float(spearmanr([r["macs"] for r in rows.values()], seconds).statistic),
            "spearman_params_time": float(spearmanr([r["params"] for r in rows.values()], seconds).statistic)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="default")
    parser.add_argument("--draws", type=int, default=24)
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--count-only", action="store_true", help="count params and MACs, time nothing")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    from necksearch.space import load_space
    graphs = graphs_to_measure(load_space(args.space), args.draws, args.sample_seed)
    draws = [n for n in graphs if n not in PUBLISHED_NECKS]
    if args.count_only and len(draws) < 2:
        parser.error("--count-only needs --draws 2 or more (it reports the draws' deciles)")
    if args.count_only:
        result = count_only(graphs, draws)
    else:
        result = measure(graphs)
        result["summary"] = summarise(result, draws)
    if not args.count_only:  # 200 counted draws replay from --sample-seed; their YAML would be half a megabyte
        result["graphs"] = graphs
    result["command"] = (f"draw_cost.py --space {args.space} --draws {args.draws} --sample-seed {args.sample_seed}"
                         + (" --count-only" if args.count_only else ""))
    write_text_atomic(Path(args.out), json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
