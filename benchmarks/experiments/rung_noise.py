"""Per-rung seed noise and rung-1 signals of the default proxy, for noise-aware ASHA early stopping.

Reads per-seed trainings recorded by ``proxy_cells.py`` (cells keyed ``label|graph|3ep|128px|seedN`` with
``map_by_epoch``) and, where their work directories are still on disk, the per-iteration training losses that
mmengine logged (``<work_dir>/<timestamp>/vis_data/scalars.json``). Trains nothing. Computes:

* the pooled seed std of bbox mAP after each epoch: sqrt of the mean over graphs of the per-graph sample variance
  (ddof 1), over every graph with at least ``--min-seeds`` seeds;
* Kendall tau-b (scipy) between the ranking of the graphs by one seed's rung signal and by the graphs' mean final
  (last-epoch) mAP over all their seeds, averaged over seeds. Signals: epoch-1 mAP, epoch-2 mAP, the last epoch's
  own mAP (a ceiling: that seed is part of the mean) and, from the logs, the training-speed estimate of Ru et al.
  2021 ("Speedy Performance Estimation for Neural Architecture Search", TSE): the mean training loss over epoch 1
  (= its sum / iterations; lower is better, so graphs are ranked by its negative), for the total loss and for the
  four detection losses every graph has (the total adds AugFPN's consistent-supervision losses on ``*_cs``
  graphs, which makes it incomparable across graphs), plus TSE-E's variant: the mean over epoch 1's last logging
  window only. Each tau is also given against the mean final mAP of the *other* seeds (leave-one-out), which
  does not reward a seed for agreeing with itself;
* a simulation of ASHA's rung-1 decision with reduction factor ``--eta`` (synchronous successive halving: of a
  set of trials, the ones outside the top ceil(n / eta) by epoch-1 mAP stop after epoch 1) against a noise-aware
  rule that does not stop a trial whose epoch-1 mAP is within ``k`` x the pooled epoch-1 seed std of the cutoff
  (the epoch-1 mAP of the last trial kept). Each graph in a set is one training with one seed; sets are every
  graph with one common seed (exact, per seed) and random subsets of ``--subset`` graphs with a random seed each
  (``--draws`` Monte-Carlo draws). Reported per rule: the rate at which a graph whose mean final mAP (all seeds)
  is in the set's top half is stopped, the rate at which the set's best graph is stopped, the mean final-mAP gap
  between the set's best graph and the best graph that survives rung 1, and the fraction of epochs saved
  (a stopped trial trains 1 of the ``epochs`` epochs).

Every per-graph, per-seed, per-epoch number it used is written into the output so that anyone can recompute.

    .venv/bin/python benchmarks/experiments/rung_noise.py \\
        --cells benchmarks/results/fpt_rt_cells.json --runs runs/cells --out benchmarks/results/rung_noise.json

``--labels`` picks the regimes that are the default proxy (default: ``default,fixed,zinit``: the default
config, 3 epochs, 128 px; ``fixed`` = trained after RT took its BatchNorm, ``zinit`` = while ST/GT were
zero-initialised by default, i.e. other architectures on the same proxy). Groups whose every seed's curve
equals an earlier group's (one architecture under two labels) are counted once. Without ``--runs`` (or where a
work directory is gone) the loss signals are left out and the output says so.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from scipy.stats import kendalltau

from cells import cell_key, parse_key

ROOT = Path(__file__).resolve().parents[2]
DETECTION_LOSSES = ("loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "loss_bbox")

Curves = Dict[str, Dict[int, List[float]]]  # graph id -> seed -> bbox mAP after each epoch


# ---------------------------------------------------------------------------------------------- reading


def load_cells(paths: Sequence[Path], labels: Sequence[str], epochs: int, image_size: int) -> Dict[str, dict]:
    """Cells of the chosen regime (default config, given epochs and size) that finished every epoch, by key."""
    chosen = {}
    for path in paths:
        for key, cell in json.loads(Path(path).read_text())["cells"].items():
            label, _, cell_epochs, size, _ = parse_key(key)
            curve = cell.get("map_by_epoch") or []
            if (label in labels and cell_epochs == epochs and size == image_size and cell.get("config") is None
                    and len(curve) == epochs and all(v is not None for v in curve)):
                chosen[key] = cell
    return chosen


def group_curves(cells: Dict[str, dict], labels: Sequence[str]) -> Tuple[Curves, Dict[str, str]]:
    """graph id (``label|graph``) -> seed -> mAP curve, labels in the given order; and the groups dropped as
    duplicates of an earlier one (every seed's curve equal)."""
    groups: Curves = {}
    for key in sorted(cells, key=lambda k: (labels.index(k.split("|")[0]), k)):
        label, graph, _, _, seed = parse_key(key)
        groups.setdefault(f"{label}|{graph}", {})[seed] = [float(v) for v in cells[key]["map_by_epoch"]]
    kept: Curves = {}
    duplicates: Dict[str, str] = {}
    for gid, seeds in groups.items():
        twin = next((other for other, theirs in kept.items() if theirs == seeds), None)
        if twin is not None:
            duplicates[gid] = twin
        else:
            kept[gid] = seeds
    return kept, duplicates


def _window_size(run_dir: Path) -> Optional[int]:
    config = run_dir / "vis_data" / "config.py"
    match = re.search(r"log_processor\s*=\s*dict\([^)]*window_size\s*=\s*(\d+)", config.read_text()) \
        if config.is_file() else None
    return int(match.group(1)) if match else None


def _train_records(run_dir: Path) -> List[dict]:
    path = run_dir / "vis_data" / "scalars.json"
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row for row in rows if "loss" in row and "iter" in row]


def epoch1_losses(work_dir: Path) -> Optional[dict]:
    """Epoch-1 training-loss summaries from mmengine's logged scalars, or None when not on disk.

    mmengine logs, every ``interval`` iterations, the mean of the last ``window_size`` iterations' values (the
    window runs across epoch boundaries). When the epoch's length is a multiple of the window, the windows that
    end at ``ipe, ipe - W, ...`` tile the epoch exactly and their mean is the epoch's mean loss (exact);
    otherwise the mean of the epoch's logged values is used and ``exact`` is false. The run directory with the
    most training records is read (a later directory may hold only a checkpoint load)."""
    runs = [d for d in sorted(Path(work_dir).glob("2*")) if d.is_dir()]
    best = max(runs, key=lambda d: len(_train_records(d)), default=None)
    records = _train_records(best) if best else []
    epoch1 = [r for r in records if r.get("epoch") == 1]
    if not epoch1:
        return None
    ipe = max(r["iter"] for r in epoch1)
    window = _window_size(best)
    by_iter = {r["iter"]: r for r in epoch1}
    ends = list(range(ipe, 0, -window)) if window and ipe % window == 0 else []
    exact = bool(ends) and all(i in by_iter for i in ends)
    used = [by_iter[i] for i in ends] if exact else epoch1

    def detection(row: dict) -> float:
        return sum(row[k] for k in DETECTION_LOSSES)

    return {"run_dir": str(best.relative_to(ROOT) if best.is_relative_to(ROOT) else best),
            "iters_per_epoch": ipe, "window": window, "exact": exact,
            "loss_mean": float(np.mean([r["loss"] for r in used])),
            "detection_loss_mean": float(np.mean([detection(r) for r in used])),
            "loss_last_window": float(by_iter[ipe]["loss"]),
            "detection_loss_last_window": float(detection(by_iter[ipe])),
            "s_per_iter_epoch1": float(np.mean([r["time"] for r in epoch1 if "time" in r])),
            "logged": [{"iter": r["iter"], "loss": r["loss"], "detection_loss": detection(r)} for r in epoch1]}


def metrics_check(work_dir: Path, curve: Sequence[float]) -> Optional[bool]:
    """Whether the work directory's metrics.jsonl (necksearch.train.hooks) gives the same per-epoch mAP."""
    from necksearch.train.hooks import read_metrics
    records = read_metrics(work_dir)
    if not records:
        return None
    return [r["metrics"].get("coco/bbox_mAP") for r in records][:len(curve)] == list(curve)


# ------------------------------------------------------------------------------------------- statistics


def pooled_std(groups: Curves, epoch: int) -> Tuple[float, int]:
    """sqrt(mean over graphs of the sample variance at ``epoch`` (1-based)); graphs counted."""
    variances = [np.var([c[epoch - 1] for c in seeds.values()], ddof=1) for seeds in groups.values()]
    return float(math.sqrt(np.mean(variances))), len(variances)


def mean_final(seeds: Dict[int, List[float]], leave_out: Optional[int] = None) -> float:
    return float(np.mean([c[-1] for s, c in seeds.items() if s != leave_out]))


def tau(x: Sequence[float], y: Sequence[float]) -> float:
    return float(kendalltau(x, y, variant="b").statistic)


def seed_taus(groups: Curves, seeds: Sequence[int], signal) -> dict:
    """Tau-b of ``signal(graph, seed)`` (higher = better) against the mean final mAP over all seeds and over the
    other seeds, per seed and averaged; graphs are those with every seed in ``seeds``."""
    graphs = [g for g in groups if all(s in groups[g] for s in seeds)]
    per_seed, per_seed_loo = {}, {}
    for seed in seeds:
        values = [signal(g, seed) for g in graphs]
        if any(v is None for v in values):
            return {"available": False}
        per_seed[seed] = tau(values, [mean_final(groups[g]) for g in graphs])
        per_seed_loo[seed] = tau(values, [mean_final(groups[g], leave_out=seed) for g in graphs])
    return {"available": True, "graphs": len(graphs),
            "tau_vs_mean_final": float(np.mean(list(per_seed.values()))),
            "tau_vs_mean_final_other_seeds": float(np.mean(list(per_seed_loo.values()))),
            "per_seed": {str(s): round(v, 4) for s, v in per_seed.items()},
            "per_seed_other_seeds": {str(s): round(v, 4) for s, v in per_seed_loo.items()}}


# --------------------------------------------------------------------------------------------- rung 1


def rung1_stopped(values: Sequence[float], eta: int, margin: float) -> List[bool]:
    """Which trials stop after rung 1: those outside the top ceil(n / eta) by ``values`` whose value is more than
    ``margin`` below the cutoff (the last kept trial's value); ``margin`` 0 is plain ASHA."""
    n = len(values)
    keep = math.ceil(n / eta)
    cutoff = sorted(values, reverse=True)[keep - 1]
    order = sorted(range(n), key=lambda i: -values[i])
    kept = set(order[:keep])
    return [i not in kept and values[i] < cutoff - margin for i in range(n)]


def judge(finals: Sequence[float], stopped: Sequence[bool], epochs: int) -> dict:
    """Outcome of one rung-1 decision against the graphs' true (mean final) quality."""
    n = len(finals)
    top = sorted(range(n), key=lambda i: -finals[i])[: n // 2]
    best = top[0]
    survivors = [finals[i] for i in range(n) if not stopped[i]]
    return {"top_half": len(top), "top_half_stopped": sum(stopped[i] for i in top),
            "best_stopped": bool(stopped[best]), "gap": finals[best] - max(survivors),
            "stopped": sum(stopped), "trials": n,
            "epochs_saved": sum(stopped) * (epochs - 1), "epochs_full": n * epochs}


def summarise(outcomes: Iterable[dict]) -> dict:
    outcomes = list(outcomes)
    total = lambda key: sum(o[key] for o in outcomes)  # noqa: E731
    return {"sets": len(outcomes),
            "top_half_stopped_rate": total("top_half_stopped") / total("top_half"),
            "best_stopped_rate": float(np.mean([o["best_stopped"] for o in outcomes])),
            "mean_gap_best_minus_best_survivor": float(np.mean([o["gap"] for o in outcomes])),
            "stopped_fraction": total("stopped") / total("trials"),
            "epochs_saved_fraction": total("epochs_saved") / total("epochs_full")}


def simulate(groups: Curves, seeds: Sequence[int], sigma1: float, ks: Sequence[float], eta: int, epochs: int,
             subset: int, draws: int, rng_seed: int) -> dict:
    graphs = [g for g in groups if all(s in groups[g] for s in seeds)]
    finals = {g: mean_final(groups[g]) for g in graphs}
    rules = {"asha": 0.0, **{f"noise_aware_k{k:g}": k * sigma1 for k in ks}}
    result = {"graphs": len(graphs), "eta": eta, "sigma_epoch1": sigma1,
              "margins": rules, "full_set_per_seed": {}, "random_subsets": {}}
    for name, margin in rules.items():
        per_seed = [judge([finals[g] for g in graphs],
                          rung1_stopped([groups[g][s][0] for g in graphs], eta, margin), epochs) for s in seeds]
        result["full_set_per_seed"][name] = {**summarise(per_seed), "per_seed": per_seed}
    rng = random.Random(rng_seed)
    sets = [[(g, rng.choice(seeds)) for g in rng.sample(graphs, subset)] for _ in range(draws)]
    for name, margin in rules.items():
        outcomes = [judge([finals[g] for g, _ in chosen],
                          rung1_stopped([groups[g][s][0] for g, s in chosen], eta, margin), epochs)
                    for chosen in sets]
        result["random_subsets"][name] = {"subset": subset, "draws": draws, "rng_seed": rng_seed,
                                          **summarise(outcomes)}
    return result


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=["benchmarks/results/fpt_rt_cells.json"],
                        help="proxy_cells.py results files")
    parser.add_argument("--runs", default="runs/cells", help="the cells' work directories ('' for none)")
    parser.add_argument("--out", default="benchmarks/results/rung_noise.json")
    parser.add_argument("--labels", default="default,fixed,zinit", help="regimes that are the default proxy")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--min-seeds", type=int, default=2, help="seeds a graph needs to count in the noise")
    parser.add_argument("--seeds", default="0,1,2", help="the seeds every graph of the taus and rung simulation has")
    parser.add_argument("--eta", type=int, default=2, help="ASHA's reduction factor")
    parser.add_argument("--k", default="0.5,1,2", help="noise-aware margins, in epoch-1 seed stds (comma-separated)")
    parser.add_argument("--subset", type=int, default=8, help="graphs per simulated rung")
    parser.add_argument("--draws", type=int, default=20000)
    parser.add_argument("--rng-seed", type=int, default=0)
    args = parser.parse_args()

    labels = args.labels.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    cell_paths = [ROOT / p for p in args.cells]
    cells = load_cells(cell_paths, labels, args.epochs, args.image_size)
    groups_all, duplicates = group_curves(cells, labels)
    groups = {g: s for g, s in groups_all.items() if len(s) >= args.min_seeds}

    runs = ROOT / args.runs if args.runs else None
    losses: Dict[str, Dict[int, Optional[dict]]] = {}
    checks = {}
    for gid, by_seed in groups.items():
        label, graph = gid.split("|")
        for seed, curve in by_seed.items():
            key = cell_key(label, graph, args.epochs, args.image_size, seed)
            work_dir = runs / key.replace("|", "__") if runs else None
            found = work_dir is not None and work_dir.is_dir()
            losses.setdefault(gid, {})[seed] = epoch1_losses(work_dir) if found else None
            checks[key] = metrics_check(work_dir, curve) if found else None

    def loss_signal(field: str):
        def signal(g: str, s: int) -> Optional[float]:
            record = losses[g].get(s)
            return None if record is None else -record[field]
        return signal

    noise = {f"epoch{e}": dict(zip(("pooled_std", "graphs"), pooled_std(groups, e)))
             for e in range(1, args.epochs + 1)}
    signals = {f"map_epoch{e}": (lambda e: lambda g, s: groups[g][s][e - 1])(e) for e in range(1, args.epochs + 1)}
    signals.update({f"neg_{field}_epoch1": loss_signal(field) for field in
                    ("loss_mean", "detection_loss_mean", "loss_last_window", "detection_loss_last_window")})
    taus = {name: seed_taus(groups, seeds, fn) for name, fn in signals.items()}
    ks = [float(k) for k in args.k.split(",")]
    rung = simulate(groups, seeds, noise["epoch1"]["pooled_std"], ks, args.eta, args.epochs,
                    args.subset, args.draws, args.rng_seed)
    for block in rung["full_set_per_seed"].values():
        block["per_seed"] = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in o.items()}
                             for o in block["per_seed"]]

    def agrees(gid: str, seed: int) -> Optional[bool]:
        return checks[cell_key(*gid.split("|"), args.epochs, args.image_size, seed)]

    raw = {gid: {str(seed): {"map_by_epoch": curve, "epoch1_training_loss": losses[gid][seed],
                             "metrics_jsonl_agrees": agrees(gid, seed)}
                 for seed, curve in sorted(by_seed.items())}
           for gid, by_seed in groups.items()}
    missing_logs = sorted(f"{g}|seed{s}" for g in losses for s, r in losses[g].items() if r is None)
    out = {"about": __doc__.split("\n\n")[0],
           "command": "benchmarks/experiments/rung_noise.py " + " ".join(
               f"--{k.replace('_', '-')} {' '.join(v) if isinstance(v, list) else v}" for k, v in vars(args).items()),
           "sources": [str(p.relative_to(ROOT)) for p in cell_paths], "runs": args.runs or None,
           "regime": {"labels": labels, "epochs": args.epochs, "image_size": args.image_size, "config": None},
           "graphs_with_min_seeds": len(groups), "graphs_with_all_seeds": rung["graphs"],
           "duplicates_dropped": duplicates, "missing_training_logs": missing_logs,
           "seed_noise": noise, "taus": taus, "rung1": rung, "raw": raw}
    Path(ROOT / args.out).write_text(json.dumps(out, indent=1, sort_keys=False) + "\n")
    print(f"graphs: {len(groups)} with >= {args.min_seeds} seeds, {rung['graphs']} with seeds {seeds}; "
          f"duplicates dropped: {duplicates or 'none'}; training logs missing: {len(missing_logs)}")
    for epoch, entry in noise.items():
        print(f"seed noise {epoch}: {entry['pooled_std']:.4f} over {entry['graphs']} graphs")
    for name, entry in taus.items():
        if entry["available"]:
            print(f"tau {name:36s} vs mean final {entry['tau_vs_mean_final']:+.3f}  "
                  f"vs other seeds' mean {entry['tau_vs_mean_final_other_seeds']:+.3f}  ({entry['graphs']} graphs)")
        else:
            print(f"tau {name:36s} not available (logs missing)")
    for scope in ("full_set_per_seed", "random_subsets"):
        for name, entry in rung[scope].items():
            print(f"{scope:18s} {name:18s} top-half stopped {entry['top_half_stopped_rate']:.3f}  best stopped "
                  f"{entry['best_stopped_rate']:.3f}  gap {entry['mean_gap_best_minus_best_survivor']:.4f}  "
                  f"epochs saved {entry['epochs_saved_fraction']:.3f}")


if __name__ == "__main__":
    main()
