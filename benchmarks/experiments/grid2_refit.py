"""grid2's published-neck statistics with some graphs' seeds replaced by re-measured ones (issue 22).

grid2 (``benchmarks/results/rank_fidelity_grid2.json``) measured the nine published necks at the default fidelity
over 3 seeds, fpt with RT's bare-conv reading. This recomputes what the search's report quotes for the published
necks (seed-to-seed Kendall τ and ρ averaged over seed pairs, pooled seed noise, each neck's mean against fpn's)
after replacing the named graphs' per-seed mAPs with cells of ``proxy_cells.py`` (same fidelity, the op fixed).
Seeds of independent trainings are exchangeable, so a replaced graph's seed k simply joins seed k's ranking.

    .venv/bin/python benchmarks/experiments/grid2_refit.py benchmarks/results/fpt_rt_cells.json --replace fpt=fixed
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from cells import seed_maps
from necksearch.search.rank.statistics import pooled_std, seed_agreement

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ("fpn", "pafpn", "fpn_carafe", "a2fpn", "a2fpn_lite", "fpt", "augfpn", "mssa_fpn", "msca_fpn")


def published_seeds(grid: dict) -> dict:
    """{graph: {seed: mAP}} of the published necks at grid2's low (the default) fidelity."""
    return {name: {int(seed): value for seed, value in grid["raw"][name]["low"].items()} for name in PUBLISHED}


def summary(table: dict) -> dict:
    agreement = seed_agreement(table)
    means = {name: statistics.fmean(by_seed.values()) for name, by_seed in table.items()}
    return {"seed_tau": agreement["tau"], "seed_rho": agreement["rho"],
            "seed_noise": pooled_std([list(by_seed.values()) for by_seed in table.values()]),
            "means": means, "ratio_to_fpn": {name: mean / means["fpn"] for name, mean in means.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cells", help="proxy_cells.py's results JSON")
    parser.add_argument("--replace", action="append", default=[], metavar="GRAPH=LABEL",
                        help="replace GRAPH's seeds with the cells of that label")
    args = parser.parse_args()
    grid = json.loads((ROOT / "benchmarks/results/rank_fidelity_grid2.json").read_text())
    cells = json.loads(Path(args.cells).read_text())["cells"]
    before = published_seeds(grid)
    after = dict(before)
    for item in args.replace:
        graph, label = item.split("=", 1)
        after[graph] = seed_maps(cells, label, graph)
        if sorted(after[graph]) != sorted(before[graph]):
            raise SystemExit(f"{item}: cells for seeds {sorted(after[graph])}, grid2 has {sorted(before[graph])}; "
                             f"a replacement needs the same seeds")
    for name, table in (("grid2 as measured", before), ("with " + ", ".join(args.replace), after)):
        result = summary(table)
        print(f"{name}: seed τ {result['seed_tau']:.3f} (ρ {result['seed_rho']:.3f}), "
              f"noise {result['seed_noise']:.4f}")
        for graph, mean in sorted(result["means"].items(), key=lambda item: -item[1]):
            print(f"  {graph:11} {mean:.3f}  {result['ratio_to_fpn'][graph]:.2f}× fpn  seeds {table[graph]}")


if __name__ == "__main__":
    main()
