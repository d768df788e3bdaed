"""Write a preset with new arguments on every node of some ops, as a graph file (issue 22's RT and GT readings).

    .venv/bin/python benchmarks/experiments/rt_variants.py fpt_gt_rt --op rt --set norm=true --out runs/variants

writes ``runs/variants/fpt_gt_rt__norm.yaml`` (graph name ``fpt_gt_rt__norm``), which ``necksearch train
--graph`` and ``proxy_cells.py --graphs`` take like a preset. Values are read as YAML (``true``, ``3``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from necksearch.graph.presets import resolve_graph


def variant(preset: str, ops: list, settings: dict) -> dict:
    """The preset's graph as a dict, every node of ``ops`` with its args updated by ``settings``, renamed after them."""
    graph = resolve_graph(preset).to_dict()
    touched = [node for node in graph["nodes"] if node["op"] in ops]
    if not touched:
        raise SystemExit(f"{preset} has no {' or '.join(ops)} node")
    for node in touched:
        node["args"] = {**node.get("args", {}), **settings}
    graph["name"] = "__".join([preset, *(k if v is True else f"{k}-{v}" for k, v in settings.items())])
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset")
    parser.add_argument("--op", action="append", help="an op whose nodes get the settings (repeatable; default rt)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default="runs/variants")
    args = parser.parse_args()
    settings = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in args.set)}
    graph = variant(args.preset, args.op or ["rt"], settings)
    path = Path(args.out) / f"{graph['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    print(path)


if __name__ == "__main__":
    main()
