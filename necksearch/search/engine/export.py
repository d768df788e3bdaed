"""The best graph as a ready MMDetection config: the search's recipe with the graph written in, beside the graph
(``graph.yaml``) and its drawing (``graph.png``).

The graph goes inline (``neck.graph`` is a dict), so ``best/config.py`` is self-contained: it trains with
``necksearch train RUN_DIR/best/config.py`` or with MMDetection's ``tools/train.py`` (its
``custom_imports`` load necksearch). The config is the search's recipe (``RUN_DIR/recipe.py``: the base config
as the search resolved it, on the search's data root) at full fidelity — all training images at the recipe's
image size and schedule — not the search's reduced fidelity.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

from necksearch.search.core import study as attrs
from necksearch.train.recipe import Recipe


def export_best(recipe: Recipe, search: str, trial: Any, out_dir: Path, note: str = "",
                name: Optional[str] = None) -> Path:
    """Write ``graph.yaml`` and ``config.py`` for ``trial`` (a finished Optuna trial of the search named ``search``)
    into ``out_dir``; ``note`` (what the choice rests on) goes into the config's header; ``name`` names the graph
    (a confirmation's label: its training may be a copy from another run, named there)."""
    from necksearch.graph import NeckGraph
    from necksearch.viz import draw
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    graph = NeckGraph.from_yaml(trial.user_attrs[attrs.GRAPH_YAML], source=f"trial {trial.number}")
    if name is not None:
        graph = dataclasses.replace(graph, name=name)
    (out_dir / "graph.yaml").write_text(graph.to_yaml(), encoding="utf-8")
    draw(graph, out_dir / "graph.png")
    cfg = recipe.config(graph)
    cfg.model.neck["graph"] = graph.to_dict()
    config_file = out_dir / "config.py"
    header = (f"# necksearch: best graph of search {search!r} (trial {trial.number}, "
              f"{trial.user_attrs.get(attrs.FIXED_POINT) or 'sampled'}), on the search's recipe from "
              f"{Path(recipe.source).name}\n" + (f"# {note}\n" if note else ""))
    config_file.write_text(header + cfg.pretty_text + "\n", encoding="utf-8")
    return config_file
