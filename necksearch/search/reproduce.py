"""``necksearch reproduce NAME``: a published architecture's config run as one fixed trial of a search.

The preset → config table is read from ``configs/*.py`` (each paper recipe names its neck as
``model.neck.graph``), never written by hand. The run is an ordinary search (``run.run_search``) of the
default space with one trial, the fixed point NAME, at full fidelity (the config's image size, every
training image, its epochs unless ``--epochs``), so it lands in a study like any trial. ``--gpus N``
trains that one trial with N processes (``engine.distributed``).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Dict, Optional

from necksearch.errors import NeckSearchError
from necksearch.search.core.settings import RUNS_DIR, SearchSettings


def published_configs(config_dir: Optional[Path] = None) -> Dict[str, Path]:
    """Preset name → the top-level config (``configs/*.py``, not ``proxy/``) whose neck graph it is: the papers'
    recipes, and the COCO recipes of the found necks (``found_*``)."""
    from necksearch.train.configs import CONFIG_DIR
    found: Dict[str, Path] = {}
    for path in sorted(Path(config_dir or CONFIG_DIR).glob("*.py")):
        graph = _neck_graph(path)
        if isinstance(graph, str) and graph not in found:
            found[graph] = path
    return found


def _neck_graph(path: Path) -> Optional[str]:
    """The ``model.neck.graph`` a config file names (``None`` when it has none)."""
    from necksearch.train.configs import load_config
    neck = (load_config(path).get("model", {}) or {}).get("neck", {}) or {}
    return neck.get("graph") if neck.get("type") == "GraphNeck" else None


def config_for(name: str, config: Optional[str] = None) -> Path:
    """The config that reproduces preset ``name``: ``config`` when given (any preset then), else the
    published recipe that trains it; an unknown name lists the known ones."""
    from necksearch.train.configs import resolve_config_path
    if config is not None:
        _check_preset(name)
        return resolve_config_path(config)
    known = published_configs()
    if name not in known:
        raise NeckSearchError(f"no config in configs/ trains {name!r}; known: {', '.join(sorted(known))} "
                              "(or give --config to train it on another recipe)")
    return known[name]


def _check_preset(name: str) -> None:
    from necksearch.graph.presets import list_found_necks, list_presets
    presets = list_presets() + list_found_necks()
    if name not in presets:
        raise NeckSearchError(f"unknown preset {name!r}; known: {', '.join(presets)}")


def config_epochs(path: Path) -> int:
    """The recipe's own number of epochs (``train_cfg.max_epochs``)."""
    from necksearch.train.configs import load_config
    epochs = (load_config(path).get("train_cfg", {}) or {}).get("max_epochs")
    if not isinstance(epochs, int) or epochs < 1:
        raise NeckSearchError(f"config {path} sets no train_cfg.max_epochs; give --epochs")
    return epochs


def default_cpus(workers: int, gpus: int) -> float:
    """CPUs for the trial: on CPU every core the trial's processes can use (at least one each); with GPUs
    up to four per process (data loading), within this machine's cores."""
    cores = os.cpu_count() or 1
    if gpus <= 0:
        return float(max(workers, cores))
    return float(max(workers, min(cores, 4 * workers)))


def check_gpus(gpus: int) -> None:
    """Refuse ``--gpus N`` on a machine with fewer GPUs (Tune would wait for them for ever)."""
    if gpus <= 0:
        return
    import torch
    have = torch.cuda.device_count()
    if have < gpus:
        raise NeckSearchError(f"--gpus {gpus}: this machine has {have} GPU{'s' if have != 1 else ''}")


def reproduce_settings(name: str, *, gpus: int = 0, workers: Optional[int] = None, config: Optional[str] = None,
                       data_root: Optional[str] = None, epochs: Optional[int] = None,
                       image_size: Optional[int] = None, cpus_per_trial: Optional[float] = None,
                       run_name: Optional[str] = None, runs_dir: Optional[str] = None,
                       storage: Optional[str] = None) -> SearchSettings:
    """The search settings of one fixed trial of preset ``name`` at full fidelity (checked)."""
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        raise NeckSearchError(f"--gpus must be a whole number of at least 0, got {gpus!r}")
    path = config_for(name, config)
    workers = max(1, gpus) if workers is None else workers
    settings = SearchSettings(
        space="default", name=run_name or f"reproduce-{name}-{time.strftime('%Y%m%d-%H%M%S')}",
        runs_dir=runs_dir or str(RUNS_DIR), config=str(path), data_root=data_root, num_trials=1,
        max_concurrent=1, cpus_per_trial=cpus_per_trial if cpus_per_trial is not None else default_cpus(workers, gpus),
        gpus_per_trial=float(gpus), epochs=epochs if epochs is not None else config_epochs(path),
        image_size=image_size, data_fraction=1.0, scheduler="none", storage=storage, fixed_points=(name,),
        workers=workers)
    return settings.checked()
