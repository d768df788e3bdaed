"""How often a random draw of the default space does not train: the collapse rate and its 95% Wilson interval.

Reads ``proxy_cells.py`` cells (label ``collapse``, the default search's fidelity: 3 epochs, 128², all data) of the
draws written to ``benchmarks/experiments/graphs/collapse/`` (``core.draws.seeded_draws`` of the default space: its
rules apply) and counts those whose bbox mAP after the last epoch is below ``--threshold`` (0.02, issue 23's
definition). Prints the table and writes ``--out`` (JSON: every draw's one-line summary, template, mAP per epoch,
neck output RMS, CPU-seconds, and the rate).

    .venv/bin/python benchmarks/experiments/collapse_rate.py --cells benchmarks/results/collapse_cells.json \\
        --out benchmarks/results/collapse_rate.json
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from necksearch.files import write_text_atomic

ROOT = Path(__file__).resolve().parents[2]


def wilson(k: int, n: int, z: float = 1.96) -> list:
    """95% Wilson score interval of a proportion k / n."""
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def main() -> None:
    from necksearch.graph import NeckGraph
    from necksearch.graph.describe import one_line
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default=str(ROOT / "benchmarks" / "results" / "collapse_cells.json"))
    parser.add_argument("--threshold", type=float, default=0.02)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "collapse_rate.json"))
    args = parser.parse_args()
    cells = json.loads(Path(args.cells).read_text())["cells"]
    draws = {}
    for key, cell in sorted(cells.items()):
        if cell.get("map") is None:
            continue
        graph = NeckGraph.from_yaml((ROOT / cell["graph"]).read_text(), source=key)
        draws[Path(cell["graph"]).stem] = {"summary": one_line(graph), "map": cell["map"],
                                           "map_by_epoch": cell["map_by_epoch"], "neck_rms": cell.get("neck_rms"),
                                           "cpu_s": cell["cpu_s"], "collapsed": cell["map"] < args.threshold}
    collapsed = [name for name, d in draws.items() if d["collapsed"]]
    result = {"threshold": args.threshold, "draws": len(draws), "collapsed": collapsed,
              "rate": len(collapsed) / len(draws) if draws else None,
              "wilson_95": wilson(len(collapsed), len(draws)), "per_draw": draws}
    write_text_atomic(Path(args.out), json.dumps(result, indent=1) + "\n")
    for name, d in draws.items():
        print(f"{name:<20} {d['map']:.3f} {'COLLAPSED' if d['collapsed'] else '':<9} {d['summary'][:90]}")
    print(f"collapse rate {len(collapsed)}/{len(draws)} = {result['rate']:.1%}, Wilson 95% "
          f"[{result['wilson_95'][0]:.1%}, {result['wilson_95'][1]:.1%}]")


if __name__ == "__main__":
    main()
