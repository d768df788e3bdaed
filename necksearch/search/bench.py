"""Trial overhead of the search: K fixed graphs trained through ``necksearch search`` (Ray, Tune, Optuna,
the report) against the same K trainings run one after another with ``necksearch train``.

Both sides run as the user would run them — separate processes, the same config, fidelity, data and
seed, one trial at a time (``--max-concurrent 1``, no scheduler) — and are timed in the same run, so the
printed ratio holds on a noisy machine where absolute times do not. Not a test: ``necksearch bench search``.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Sequence

from necksearch.errors import NeckSearchError


def _timed(command: List[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise NeckSearchError(f"{' '.join(command[2:5])} ... exited {done.returncode}: "
                              f"{(done.stderr.strip().splitlines() or [''])[-1]}")
    return time.perf_counter() - start


def fidelity_args(epochs: int, image_size: int, data_fraction: float, data_root: str) -> List[str]:
    return ["--epochs", str(epochs), "--image-size", str(image_size), "--data-fraction", str(data_fraction),
            "--data-root", data_root, "--seed", "0"]


def benchmark_search_overhead(graphs: Sequence[str], epochs: int, image_size: int, data_fraction: float,
                              data_root: str, progress: Callable[[str], None]) -> Dict[str, object]:
    """Seconds for the K direct trainings and for the search of the same K graphs, and their ratio."""
    python = [sys.executable, "-m", "necksearch"]
    common = fidelity_args(epochs, image_size, data_fraction, data_root)
    with tempfile.TemporaryDirectory(prefix="necksearch-bench-") as scratch:
        direct = []
        for graph in graphs:
            progress(f"necksearch train --graph {graph}")
            direct.append(_timed(python + ["train", "--graph", graph, "--work-dir", f"{scratch}/train-{graph}"] + common))
        progress(f"necksearch search --fixed-points {','.join(graphs)}")
        search = _timed(python + ["search", "--name", "bench", "--runs-dir", scratch, "--num-trials", str(len(graphs)),
                                  "--max-concurrent", "1", "--scheduler", "none", "--fixed-points", ",".join(graphs)]
                        + common)
    total = sum(direct)
    return {"graphs": list(graphs), "direct_s": [round(t, 1) for t in direct], "direct_total_s": round(total, 1),
            "search_s": round(search, 1), "ratio": round(search / total, 3),
            "overhead_per_trial_s": round((search - total) / len(graphs), 1)}


def render(result: Dict[str, object], meta: Dict[str, object]) -> str:
    lines = [f"# search trial overhead: {meta['machine']}, {meta['date']}",
             f"# fidelity: {meta['fidelity']}; one trial at a time, no scheduler",
             f"direct (necksearch train, one process per graph): {result['direct_total_s']} s "
             f"({', '.join(f'{g} {t}' for g, t in zip(result['graphs'], result['direct_s']))})",
             f"search (one necksearch search of the same graphs): {result['search_s']} s",
             f"ratio search / direct: {result['ratio']}   overhead per trial: {result['overhead_per_trial_s']} s"]
    return "\n".join(lines)


def default_data_root() -> str:
    from necksearch.data import ensure_synthetic_coco
    return str(ensure_synthetic_coco())


