"""Trial overhead of the search: K fixed graphs trained through ``necksearch search`` (Ray, Tune, Optuna,
the report) against the same K trainings run one after another with ``necksearch train``.

Both sides run as the user would run them — separate processes, the same config, fidelity, data and
seed, one trial at a time (``--max-concurrent 1``, no scheduler), one thread per process — and are timed
in the same run, in rounds that alternate which side goes first, so the printed ratio holds better on a
noisy machine than absolute times do. Not a test: ``necksearch bench search``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Sequence

from necksearch.errors import NeckSearchError


def _timed(command: List[str], threads: int) -> float:
    start = time.perf_counter()
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise NeckSearchError(f"{' '.join(command[2:5])} ... exited {done.returncode}: "
                              f"{(done.stderr.strip().splitlines() or [''])[-1]}")
    return time.perf_counter() - start


def fidelity_args(epochs: int, image_size: int, data_fraction: float, data_root: str) -> List[str]:
    return ["--epochs", str(epochs), "--image-size", str(image_size), "--data-fraction", str(data_fraction),
            "--data-root", data_root, "--seed", "0"]


def benchmark_search_overhead(graphs: Sequence[str], epochs: int, image_size: int, data_fraction: float,
                              data_root: str, progress: Callable[[str], None], repeats: int = 2) -> Dict[str, object]:
    """Seconds of the K direct trainings and of the search of the same K graphs, ``repeats`` times with the
    order alternating (direct first, then search first), every process on one thread as a trial gets."""
    python = [sys.executable, "-m", "necksearch"]
    common = fidelity_args(epochs, image_size, data_fraction, data_root)
    rounds = []
    with tempfile.TemporaryDirectory(prefix="necksearch-bench-") as scratch:
        for index in range(repeats):
            def direct() -> float:
                total = 0.0
                for graph in graphs:
                    progress(f"[round {index + 1}] necksearch train --graph {graph}")
                    total += _timed(python + ["train", "--graph", graph,
                                              "--work-dir", f"{scratch}/{index}/train-{graph}"] + common, 1)
                return total

            def search() -> float:
                progress(f"[round {index + 1}] necksearch search --fixed-points {','.join(graphs)}")
                return _timed(python + ["search", "--name", f"bench{index}", "--runs-dir", scratch,
                                        "--num-trials", str(len(graphs)), "--max-concurrent", "1",
                                        "--cpus-per-trial", "1", "--scheduler", "none",
                                        "--fixed-points", ",".join(graphs)] + common, 1)
            order = (direct, search) if index % 2 == 0 else (search, direct)
            times = {fn.__name__: fn() for fn in order}
            rounds.append({"direct_s": round(times["direct"], 1), "search_s": round(times["search"], 1),
                           "ratio": round(times["search"] / times["direct"], 3)})
    direct_total = sum(r["direct_s"] for r in rounds)
    search_total = sum(r["search_s"] for r in rounds)
    return {"graphs": list(graphs), "rounds": rounds, "ratio": round(search_total / direct_total, 3),
            "overhead_per_trial_s": round((search_total - direct_total) / (len(graphs) * repeats), 1)}


def render(result: Dict[str, object], meta: Dict[str, object]) -> str:
    lines = [f"# search trial overhead: {meta['machine']}, {meta['date']}, load {meta['load']}",
             f"# graphs {', '.join(result['graphs'])}; fidelity: {meta['fidelity']}; one trial at a time, "
             "one thread per process, no scheduler; rounds alternate which side runs first"]
    for number, row in enumerate(result["rounds"], 1):
        lines.append(f"round {number}: direct (necksearch train per graph) {row['direct_s']} s, "
                     f"search {row['search_s']} s, ratio {row['ratio']}")
    lines.append(f"ratio search / direct (all rounds): {result['ratio']}   "
                 f"overhead per trial: {result['overhead_per_trial_s']} s")
    return "\n".join(lines)


def default_data_root() -> str:
    from necksearch.data import ensure_synthetic_coco
    return str(ensure_synthetic_coco())
