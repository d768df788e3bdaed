"""Proxy against paper over two ablation tables (issue 22): FPT Table 1 and AugFPN's component ablation.

Reads the cells that ``proxy_cells.py`` trained (default fidelity: 3 epochs, 128², all data), writes
``ablation_orders.json`` as ``{"<table>": {"<preset>": {"paper": AP, "maps": [per-seed mAP], "seeds": [...]}}}``
and prints, per table, each row's mean ± std beside the paper's box AP, Kendall τ and Spearman ρ between
the proxy's means and the paper's APs, and the same τ for every single seed (its spread is the noise of
the τ), then every pairing of the table that adds one component: the paper's gain against the proxy's
with a Welch 95% interval.

    .venv/bin/python benchmarks/experiments/ablation_orders.py benchmarks/results/fpt_rt_cells.json \\
        --out benchmarks/results/ablation_orders.json
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from cells import seed_maps
from necksearch.files import write_text_atomic
from necksearch.search.rank.statistics import pooled_std, rank_correlation, welch_interval

FPT_PAPER = {"fpt_bfp": 31.6, "fpt_st": 32.0, "fpt_gt": 35.1, "fpt_rt": 34.7, "fpt_st_gt": 35.7,
             "fpt_st_rt": 35.9, "fpt_gt_rt": 36.9, "fpt": 38.0}
FPT_SOURCE = "FPT (Zhang et al., ECCV 2020) Table 1: Mask R-CNN R50, COCO val2017, box AP"
#: Box AP of each ablation row as the papers print it, and which cells (``label|graph`` of proxy_cells.py) trained
#: each row; a graph file's cells stand for a preset when the file differs only in the arguments the table names.
TABLES = {
    "fpt_table1": {
        "source": FPT_SOURCE + " (ops as today: RT normalised, ST/GT output BN at γ = 1)",
        "cells": {"fpt_bfp": "default|fpt_bfp", "fpt_st": "default|fpt_st", "fpt_gt": "default|fpt_gt",
                  "fpt_rt": "fixed|fpt_rt", "fpt_st_gt": "default|fpt_st_gt", "fpt_st_rt": "fixed|fpt_st_rt",
                  "fpt_gt_rt": "fixed|fpt_gt_rt", "fpt": "fixed|fpt"},
        "rows": FPT_PAPER,
    },
    "fpt_table1_zero_init": {
        "source": FPT_SOURCE + " (RT normalised, ST/GT zero-initialised: the released code's init, a probe; "
                               "rows trained on one seed only are left out of τ)",
        "cells": {"fpt_bfp": "default|fpt_bfp", "fpt_st": "zinit|fpt_st", "fpt_gt": "default|fpt_gt__zero_init",
                  "fpt_rt": "fixed|fpt_rt", "fpt_st_gt": "default|fpt_st_gt__zero_init",
                  "fpt_st_rt": "zinit|fpt_st_rt", "fpt_gt_rt": "zinit|fpt_gt_rt", "fpt": "zinit|fpt"},
        "rows": FPT_PAPER,
    },
    "augfpn_table2": {
        "source": "AugFPN (Guo et al., CVPR 2020) Table 2: Faster R-CNN R50 1x, COCO val2017, AP",
        "cells": {},
        "rows": {"fpn": 36.3, "augfpn_cs": 37.2, "augfpn_rfa": 37.3, "augfpn_srs": 37.1, "augfpn_cs_rfa": 37.7,
                 "augfpn_cs_srs": 38.0, "augfpn_rfa_srs": 37.9, "augfpn": 38.7},
    },
}


def row_maps(cells: dict, label_graph: str) -> dict:
    """{seed: mAP} of one ``label|graph``'s finished cells at the default fidelity."""
    label, graph = label_graph.split("|")
    return seed_maps(cells, label, graph)


def table_results(cells: dict, table: dict) -> dict:
    results = {}
    for preset, paper in table["rows"].items():
        trained_as = table["cells"].get(preset, f"default|{preset}")
        maps = row_maps(cells, trained_as)
        results[preset] = {"paper": paper, "seeds": sorted(maps), "maps": [maps[s] for s in sorted(maps)],
                           "cells": trained_as}
    return results


def agreement(rows: dict) -> dict:
    """τ/ρ of the means against the paper, and τ of each seed alone (rows trained on that seed)."""
    full = {p: r for p, r in rows.items() if len(r["maps"]) >= 2}
    result = {"rows": len(full), "noise": pooled_std([r["maps"] for r in full.values()])}
    if len(full) >= 3:
        result.update(rank_correlation([r["paper"] for r in full.values()],
                                       [statistics.mean(r["maps"]) for r in full.values()]))
        seeds = sorted(set.intersection(*(set(r["seeds"]) for r in full.values())))
        result["tau_per_seed"] = [rank_correlation([r["paper"] for r in full.values()],
                                                   [r["maps"][r["seeds"].index(s)] for r in full.values()])["tau"]
                                  for s in seeds]
    return result


def pairings(rows: dict) -> list:
    """Every pair of rows where the second adds exactly one component to the first (by preset name parts)."""
    def parts(name: str) -> frozenset:
        pieces = set(name.split("_")[1:]) - {"bfp"}
        return frozenset({"st", "gt", "rt"} if name == "fpt" else {"cs", "rfa", "srs"} if name == "augfpn" else pieces)
    found = []
    for a, ra in rows.items():
        for b, rb in rows.items():
            added = parts(b) - parts(a)
            if parts(a) < parts(b) and len(added) == 1 and len(ra["maps"]) >= 2 and len(rb["maps"]) >= 2:
                diff, low, high = welch_interval(ra["maps"], rb["maps"])
                found.append({"without": a, "with": b, "added": next(iter(added)),
                              "paper_gain": round(rb["paper"] - ra["paper"], 1),
                              "proxy_gain": diff, "interval": [low, high]})
    return found


def markdown(name: str, table: dict, rows: dict) -> str:
    lines = [f"### {name}: {table['source']}", "",
             "| row | paper AP | proxy seeds | proxy mean ± std |", "|---|---|---|---|"]
    for preset, row in rows.items():
        seeds = " / ".join(f"{m:.3f}" for m in row["maps"])
        mean = f"{statistics.mean(row['maps']):.3f} ± {statistics.stdev(row['maps']):.3f}" if len(row["maps"]) > 1 else "–"
        lines.append(f"| {preset} | {row['paper']} | {seeds} | {mean} |")
    agree = agreement(rows)
    if "tau" in agree:
        per_seed = ", ".join(f"{t:+.2f}" for t in agree["tau_per_seed"])
        lines += ["", f"Kendall τ (proxy means vs paper) **{agree['tau']:+.2f}**, Spearman ρ {agree['rho']:+.2f} over "
                      f"{agree['rows']} rows; τ of single seeds {per_seed}; pooled seed noise {agree['noise']:.3f}."]
    lines += ["", "| adds | without → with | paper gain | proxy gain [Welch 95%] |", "|---|---|---|---|"]
    for p in pairings(rows):
        lines.append(f"| {p['added']} | {p['without']} → {p['with']} | {p['paper_gain']:+.1f} | "
                     f"{p['proxy_gain']:+.3f} [{p['interval'][0]:+.3f}, {p['interval'][1]:+.3f}] |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cells", help="proxy_cells.py's results JSON")
    parser.add_argument("--out", help="write ablation_orders.json here")
    args = parser.parse_args()
    cells = json.loads(Path(args.cells).read_text())["cells"]
    everything = {name: table_results(cells, table) for name, table in TABLES.items()}
    for name, table in TABLES.items():
        print(markdown(name, table, everything[name]))
    if args.out:
        write_text_atomic(Path(args.out), json.dumps(everything, indent=1) + "\n")


if __name__ == "__main__":
    main()
