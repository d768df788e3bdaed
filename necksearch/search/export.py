"""The best graph as a ready MMDetection config: the search's base config with the graph written in.

The graph goes inline (``neck.graph`` is a dict), so ``best/config.py`` is self-contained: it trains with
``necksearch train RUN_DIR/best/config.py`` or with MMDetection's ``tools/train.py`` (its
``custom_imports`` load necksearch). The config is the base recipe at full fidelity — all training
images at the recipe's image size — not the search's reduced fidelity.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from necksearch.search import study as attrs
from necksearch.search.settings import SearchSettings


def export_best(settings: SearchSettings, trial: Any, out_dir: Path) -> Path:
    """Write ``graph.yaml`` and ``config.py`` for ``trial`` (a finished Optuna trial) into ``out_dir``."""
    from necksearch.graph import NeckGraph
    from necksearch.train.runner import load_config, resolve_config_path, set_graph
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    graph = NeckGraph.from_yaml(trial.user_attrs[attrs.GRAPH_YAML], source=f"trial {trial.number}")
    graph_file = out_dir / "graph.yaml"
    graph_file.write_text(graph.to_yaml(), encoding="utf-8")
    cfg = load_config(resolve_config_path(settings.config))
    import necksearch.mmdet  # noqa: F401 - registers GraphNeck for the graph check
    set_graph(cfg, graph_file)
    cfg.model.neck["graph"] = graph.to_dict()
    config_file = out_dir / "config.py"
    header = (f"# necksearch: best graph of search {settings.name!r} (trial {trial.number}, "
              f"{trial.user_attrs.get(attrs.FIXED_POINT) or 'sampled'}), on the base config {Path(settings.config).name}\n")
    config_file.write_text(header + cfg.pretty_text + "\n", encoding="utf-8")
    return config_file
