"""Train (graph, seed) cells on the default proxy in parallel and keep every result in one JSON file.

A cell is one ``necksearch train`` at a given fidelity (epochs, image size) and config, one thread per
training (as a search trial trains), its work directory under ``--runs``. Cells already in the results
file, or whose work directory holds the last epoch's metrics, are not trained again, so a killed run
continues where it stopped. After every cell the file is read again and rewritten whole (atomically) with the
cell's per-epoch bbox mAP, its last epoch's bbox metrics and neck output RMS, its wall and CPU seconds and the
machine's load average.

    .venv/bin/python benchmarks/experiments/proxy_cells.py --out benchmarks/results/fpt_rt_cells.json \\
        --graphs fpt_gt,fpt_gt_rt --seeds 0,1,2 --image-size 128 --jobs 2

``--graphs`` takes preset names or graph files (a file's stem names it in the results). ``--config``
trains on another base config (default: the default proxy), ``--data DIR`` on another COCO dataset, and
``--label`` names that regime in the cell keys, so that probes of one graph under several regimes sit side by side in one file.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cells import cell_key
from necksearch.files import write_text_atomic
from necksearch.train.hooks import read_metrics

ROOT = Path(__file__).resolve().parents[2]
NECKSEARCH = [sys.executable, "-m", "necksearch"]


def last_metrics(records: list, prefix: str) -> dict:
    """The last epoch's metrics whose names start with ``prefix`` (neck RMS per level; bbox mAP by size)."""
    return {k: v for k, v in (records[-1]["metrics"] if records else {}).items() if k.startswith(prefix)}


def train_cell(graph: str, seed: int, epochs: int, image_size: int, config: str | None, work_dir: Path,
               data: str | None = None) -> dict:
    """One training in a child process with one thread; its per-epoch record."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [*NECKSEARCH, "train", *([config] if config else []), "--graph", graph, "--seed", str(seed),
               "--epochs", str(epochs), "--image-size", str(image_size), "--work-dir", str(work_dir),
               *(["--data", data] if data else [])]
    if (work_dir / "metrics.jsonl").is_file() and any(work_dir.glob("epoch_*.pth")):
        command.append("--resume")
    start = time.time()
    work_dir.mkdir(parents=True, exist_ok=True)
    with open(work_dir / "cell.log", "a", encoding="utf-8") as log:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own CPU time, not its sibling's
        child.returncode = os.waitstatus_to_exitcode(status)
    records = read_metrics(work_dir)
    checkpoints = sorted(work_dir.glob("epoch_*.pth"), key=lambda path: int(path.stem.split("_")[1]))
    for checkpoint in checkpoints[:-1]:  # the last one is what fpt_rt_stats.py --checkpoint reads
        checkpoint.unlink()
    return {"graph": graph, "seed": seed, "epochs": epochs, "image_size": image_size, "config": config, "data": data,
            "returncode": child.returncode,
            "map_by_epoch": [r["metrics"].get("coco/bbox_mAP") for r in records],
            "map": next((r["metrics"].get("coco/bbox_mAP") for r in records if r["epoch"] == epochs), None),
            "neck_rms": last_metrics(records, "neck/"),
            "bbox": last_metrics(records, "coco/bbox_"),
            "wall_s": round(time.time() - start, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "load_avg": os.getloadavg()[0]}


@contextlib.contextmanager
def locked(out: Path):
    """Hold an exclusive lock beside the results file while it is read, changed and written (several runs of
    this script may share one file)."""
    with open(out.with_name(f".{out.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def work_dir_of(runs: Path, key: str) -> Path:
    return runs / key.replace("|", "__")


def refresh(out: Path, runs: Path) -> None:
    """Add the last epoch's bbox metrics and neck RMS to cells recorded before they were kept."""
    with locked(out):
        results = json.loads(out.read_text())
        for key, cell in results["cells"].items():
            records = read_metrics(work_dir_of(runs, key))
            if records:
                cell.update(neck_rms=last_metrics(records, "neck/"), bbox=last_metrics(records, "coco/bbox_"))
        write_text_atomic(out, json.dumps(results, indent=1, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the results JSON (read first: finished cells are kept)")
    parser.add_argument("--graphs", required=True, help="comma-separated presets or graph files")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--config", help="base config (default: the default proxy)")
    parser.add_argument("--data", help="a COCO dataset directory (necksearch train --data; default: the config's)")
    parser.add_argument("--label", default="default", help="the regime's name in the cell keys")
    parser.add_argument("--runs", default="runs/cells", help="where the cells' work directories go")
    parser.add_argument("--jobs", type=int, default=2, help="trainings at once (one thread each)")
    parser.add_argument("--refresh", action="store_true",
                        help="train nothing: re-read every recorded cell's last-epoch metrics from its work directory")
    args = parser.parse_args()
    if args.refresh:
        refresh(Path(args.out), ROOT / args.runs)
        return

    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {"cells": {}}
    todo = [(graph, int(seed)) for seed in args.seeds.split(",") for graph in args.graphs.split(",")]
    todo = [(g, s) for g, s in todo
            if results["cells"].get(cell_key(args.label, g, args.epochs, args.image_size, s), {}).get("map") is None]
    print(f"{len(todo)} cells to train with {args.jobs} at once", flush=True)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {}
        for graph, seed in todo:
            key = cell_key(args.label, graph, args.epochs, args.image_size, seed)
            work_dir = work_dir_of(ROOT / args.runs, key)
            futures[pool.submit(train_cell, graph, seed, args.epochs, args.image_size, args.config, work_dir,
                                  args.data)] = key
        for future in concurrent.futures.as_completed(futures):
            key, cell = futures[future], future.result()
            with locked(out):
                results = json.loads(out.read_text()) if out.is_file() else {"cells": {}}  # another run may have added
                results["cells"][key] = cell
                write_text_atomic(out, json.dumps(results, indent=1, sort_keys=True) + "\n")
            print(f"{time.strftime('%H:%M:%S')} {key}: mAP {cell['map']} by epoch {cell['map_by_epoch']} "
                  f"({cell['wall_s']:.0f} s wall, {cell['cpu_s']:.0f} CPU-s, load {cell['load_avg']:.1f})", flush=True)


if __name__ == "__main__":
    main()
