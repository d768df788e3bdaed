"""The per-seed trainings ``proxy_cells.py`` records, one *cell* each (``{"cells": {KEY: record}}``), keyed
``label|graph|Eep|Spx|seedN``: making a key, reading one back, and the finished cells' bbox mAPs.

The experiment scripts import this as a sibling module: run as ``python benchmarks/experiments/NAME.py``, their
directory is first on ``sys.path`` (the tests that load them put it there too).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

#: The synthetic default search's fidelity (3 epochs, 128², all data) as a key's middle part.
DEFAULT_FIDELITY = "3ep|128px"


def cell_fidelity(epochs: int, image_size: int) -> str:
    """``3ep|128px``: the fidelity part of a key."""
    return f"{epochs}ep|{image_size}px"


def cell_key(label: str, graph: str, epochs: int, image_size: int, seed: int) -> str:
    """The key of a training: its regime's label, the graph's name (a graph file's stem), fidelity and seed."""
    return f"{label}|{Path(graph).stem}|{cell_fidelity(epochs, image_size)}|seed{seed}"


def parse_key(key: str) -> Tuple[str, str, int, int, int]:
    """``label|graph|3ep|128px|seed0`` → (label, graph, epochs, image size, seed)."""
    label, graph, epochs, size, seed = key.split("|")
    return label, graph, int(epochs.removesuffix("ep")), int(size.removesuffix("px")), int(seed.removeprefix("seed"))


def cells_at(cells: Dict[str, dict], label: str, fidelity: str) -> Iterator[Tuple[str, int, dict]]:
    """(graph, seed, record) of every cell of one label at one fidelity (``3ep|128px``), failed ones included."""
    for key, cell in cells.items():
        cell_label, graph, epochs, size, seed = parse_key(key)
        if cell_label == label and cell_fidelity(epochs, size) == fidelity:
            yield graph, seed, cell


def maps_by_graph(cells: Dict[str, dict], label: str, fidelity: str = DEFAULT_FIDELITY) -> Dict[str, Dict[int, float]]:
    """graph → seed → bbox mAP of the finished cells of one label at one fidelity."""
    table: Dict[str, Dict[int, float]] = {}
    for graph, seed, cell in cells_at(cells, label, fidelity):
        if cell.get("map") is not None:
            table.setdefault(graph, {})[seed] = cell["map"]
    return table


def curves_by_graph(cells: Dict[str, dict], label: str, fidelity: str = DEFAULT_FIDELITY
                    ) -> Dict[str, Dict[int, List[float]]]:
    """graph → seed → bbox mAP after each epoch, of the finished cells (those with a final mAP) of one label and
    fidelity."""
    table: Dict[str, Dict[int, List[float]]] = {}
    for graph, seed, cell in cells_at(cells, label, fidelity):
        if cell.get("map") is not None:
            table.setdefault(graph, {})[seed] = list(cell["map_by_epoch"])
    return table


def cpu_seconds(cells: Dict[str, dict], label: str, graphs: Iterable[str], fidelity: str,
                seeds: Optional[Iterable[int]] = None) -> float:
    """The CPU-seconds the trainings of ``graphs`` (at ``seeds``, default all) took, failed ones included."""
    graphs, seeds = set(graphs), None if seeds is None else set(seeds)
    return sum(cell.get("cpu_s") or 0.0 for graph, seed, cell in cells_at(cells, label, fidelity)
               if graph in graphs and (seeds is None or seed in seeds))


def maps_of(cells: Dict[str, dict], label: str, graphs: Iterable[str], fidelity: str = DEFAULT_FIDELITY
            ) -> Dict[str, Dict[int, float]]:
    """graph → seed → bbox mAP for each of ``graphs`` (empty for a graph with no finished cell)."""
    table = maps_by_graph(cells, label, fidelity)
    return {graph: table.get(graph, {}) for graph in graphs}


def seed_maps(cells: Dict[str, dict], label: str, graph: str, fidelity: str = DEFAULT_FIDELITY) -> Dict[int, float]:
    """seed → bbox mAP of one graph's finished cells (empty when it has none)."""
    return maps_of(cells, label, [graph], fidelity)[graph]
