"""Does the synthetic proxy rank necks as real images do? The tree proxy's ranking against the synthetic one.

Trees: ``proxy_cells.py`` cells of the tree proxy (``configs/proxy/faster-rcnn_effnet-lite0_fpn_trees.py``: 6 epochs,
128², the NEON tree-crown tiles), label ``trees``, in ``--cells``. Synthetic: the default search's fidelity (3 epochs,
128², all data) per seed from grid2 (``rank_fidelity_grid2.json``), with the graphs whose ops changed since grid2
measured them replaced by re-measured cells: fpt from ``fpt_rt_cells.json`` (label ``fixed``) and grid2's draws
with RT from ``--cells`` (label ``synthetic``). Graphs are the nine published necks and grid2's 7 draws
(``benchmarks/experiments/graphs/grid2_sampleNN.yaml``).

Computes per graph mean ± std on each side; on the trees the pooled seed noise, the seed-to-seed Kendall τ (mean
over seed pairs; over the nine published necks and over all graphs) and each published neck's mean against fpn's;
between the two sides Kendall τ-b and Spearman ρ of the per-graph means with a 95% percentile bootstrap over graphs
(graphs resampled with replacement, ``--draws`` times); a scatter of trees against synthetic means. The published
necks trained on the trees at a higher fidelity too (:data:`HIGHER_TREES`) get the same side summary there, under
``trees_higher``; with more than two seeds of each published neck at the proxy's fidelity, how far rankings by
k-seed means repeat (``trees_seed_averaging``), and how far a score averaged over the last epochs' evaluations
repeats (``trees_epoch_averaging``), both on tree seeds 0-11 (:data:`EXPLORED_SEEDS`), and the window chosen there
checked on seeds trained after it was fixed (``trees_fresh_seeds``); what the datasets' objects look like
(``object_shapes``: density, classes, box sides at 128²; builds the datasets if missing); and the dense synthetic
data built to match the crowns (``data synth --style dense``, label ``dense`` in ``--cells``, the synthetic default
fidelity): its ranking against the trees' and the shapes' over the graphs it trained (``dense``). Writes
``OUT.json`` (``{"trees": {graph: {"maps": [...]}}, "synthetic": {graph: {"maps": [...]}}, ...}``) and ``OUT.png``.

    .venv/bin/python benchmarks/experiments/transfer_trees.py --out benchmarks/results/transfer_trees
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
from pathlib import Path
from typing import Dict, List, Optional

from cells import DEFAULT_FIDELITY, cpu_seconds, curves_by_graph, maps_of, seed_maps
from necksearch.graph.presets import PUBLISHED_NECKS
from necksearch.files import write_text_atomic
from necksearch.search.rank.statistics import mean_std, pooled_std, rank_correlation, seed_agreement

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
DRAWS = tuple(f"grid2_sample{i:02d}" for i in range(7))
#: grid2's draws with RT, measured on the synthetic data before RT normalised its convs (fpt_rt.md): their
#: synthetic side is the bare-conv reading until re-measured (label ``synthetic`` in the cells; all three were,
#: 2026-12-06).
STALE_RT = ("grid2_sample00", "grid2_sample01", "grid2_sample03")
#: Tree fidelities above the proxy's 6 epochs at which the published necks were trained too (``trees_higher``).
HIGHER_TREES = ("12ep|128px",)
#: Below this bbox mAP a graph did not train (issue 23's collapse threshold, ``collapse_rate.py``'s default).
COLLAPSED = 0.02
#: How many of the last epochs' evaluations a tree score averages (``trees_epoch_averaging``; 1: the final mAP).
EPOCH_WINDOWS = (1, 2, 3, 4, 5, 6)
#: The published necks' tree seeds of every section up to "A smoother score", on which its window was chosen.
EXPLORED_SEEDS = tuple(range(12))
#: The window "A smoother score" chose on :data:`EXPLORED_SEEDS` (the last four epochs), fixed before
#: :data:`FRESH_SEEDS` were trained.
CHOSEN_WINDOW = 4
#: Tree seeds trained after the window was fixed, to check it on seeds that chose nothing (``trees_fresh_seeds``).
FRESH_SEEDS = tuple(range(12, 18))
#: The windows a training at the synthetic default fidelity (3 epochs) can average (``default_fidelity_windows``).
DEFAULT_WINDOWS = (1, 2, 3)
#: ``data synth --style dense`` (one class, 10-20 objects an image at the crowns' box sides), built where
#: ``object_shapes`` reads it.
DENSE_ROOT = ROOT / "data" / "synth_dense"


def synthetic_side(cells: Dict) -> Dict[str, Dict[int, float]]:
    """Graph → seed → default-fidelity mAP: grid2's, with fpt and the re-measured draws replaced."""
    grid = json.loads((RESULTS / "rank_fidelity_grid2.json").read_text())["raw"]
    fixed = json.loads((RESULTS / "fpt_rt_cells.json").read_text())["cells"]
    table = {name: {int(s): v for s, v in grid[name]["low"].items()} for name in PUBLISHED_NECKS}
    table.update({f"grid2_{name}": {int(s): v for s, v in grid[name]["low"].items()} for name in grid
                  if name.startswith("sample")})
    table["fpt"] = seed_maps(fixed, "fixed", "fpt")
    table.update({name: maps for name, maps in maps_of(cells, "synthetic", DRAWS).items() if maps})
    return table


def bootstrap(x: List[float], y: List[float], draws: int, seed: int = 0) -> Dict[str, List[float]]:
    """95% percentile intervals of Kendall τ and Spearman ρ over graphs resampled with replacement."""
    rng, taus, rhos = random.Random(seed), [], []
    for _ in range(draws):
        picks = [rng.randrange(len(x)) for _ in x]
        result = rank_correlation([x[i] for i in picks], [y[i] for i in picks])
        if result["tau"] is not None:
            taus.append(result["tau"])
            rhos.append(result["rho"])
    return {"tau": _interval(taus), "rho": _interval(rhos), "draws": len(taus)}


def _interval(values: List[float]) -> List[float]:
    values = sorted(values)
    return [values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]]


def side_summary(table: Dict[str, Dict[int, float]]) -> Dict:
    published = {name: table[name] for name in PUBLISHED_NECKS if name in table}
    return {"seed_noise": pooled_std([list(v.values()) for v in table.values()]),
            "seed_noise_published": pooled_std([list(v.values()) for v in published.values()]),
            "seed_tau_published": seed_agreement(published)["tau"], "seed_tau_all": seed_agreement(table)["tau"]}


def stale_rt(cells: Dict) -> List[str]:
    """grid2's RT draws whose synthetic side is still the bare-conv reading (not re-measured in ``cells``)."""
    remeasured = maps_of(cells, "synthetic", STALE_RT)
    return [name for name in STALE_RT if not remeasured[name]]


def analyse(trees: Dict[str, Dict[int, float]], synthetic: Dict[str, Dict[int, float]], draws: int,
            stale: List[str] = ()) -> Dict:
    """Transfer τ and ρ (all graphs, the published nine, the trainable ones, and without ``stale`` RT draws if
    any), each side's summary, and each published neck's tree mean against fpn's."""
    names = [n for n in (*PUBLISHED_NECKS, *DRAWS) if trees.get(n) and synthetic.get(n)]
    x, y = _means(synthetic, names), _means(trees, names)
    published = [n for n in names if n in PUBLISHED_NECKS]
    result = {"graphs": names, "transfer": _transfer(x, y, draws),
              "transfer_published": _transfer(_means(synthetic, published), _means(trees, published), draws),
              "transfer_trainable": _subset(names, x, y, lambda n, xs: xs >= COLLAPSED),
              "trees_summary": side_summary({n: trees[n] for n in names}),
              "synthetic_summary": side_summary({n: synthetic[n] for n in names}),
              "trees_vs_fpn": _against_fpn(trees, published)}
    if stale:
        result["transfer_without_stale_rt"] = _subset(names, x, y, lambda n, xs: n not in stale)
    return result


def higher_fidelity(cells: Dict, synthetic: Dict[str, Dict[int, float]], fidelity: str, draws: int) -> Dict:
    """The nine published necks on the trees at another ``fidelity`` (e.g. ``12ep|128px``, the issue's "raise the
    fidelity until seed-to-seed τ holds"): per neck its seeds, the side's seed noise and seed-to-seed τ, each neck
    against fpn, the transfer from the synthetic means over them, and the CPU-seconds its trainings took."""
    trees = maps_of(cells, "trees", PUBLISHED_NECKS, fidelity)
    trees = {n: by_seed for n, by_seed in trees.items() if len(by_seed) >= 2}
    if len(trees) < 3:
        return {}
    names = [n for n in PUBLISHED_NECKS if n in trees and synthetic.get(n)]
    return {"trees": {n: {"maps": [trees[n][s] for s in sorted(trees[n])], "seeds": sorted(trees[n]),
                          **mean_std(list(trees[n].values()))} for n in names},
            "summary": side_summary(trees),
            "transfer_published": _transfer(_means(synthetic, names), _means(trees, names), draws),
            "vs_fpn": _against_fpn(trees, names), "cpu_s": cpu_seconds(cells, "trees", trees, fidelity)}


def explored_tree_maps(cells: Dict, graphs, fidelity: str = "6ep|128px") -> Dict[str, Dict[int, float]]:
    """graph → seed → bbox mAP on the trees at :data:`EXPLORED_SEEDS` (the seeds every section but the fresh seeds'
    measured)."""
    return {n: {s: m for s, m in by_seed.items() if s in EXPLORED_SEEDS}
            for n, by_seed in maps_of(cells, "trees", graphs, fidelity).items()}


def seed_averaging(cells: Dict, fidelity: str = "6ep|128px") -> Dict:
    """The issue's "raise the fidelity until seed-to-seed τ holds" along the seeds axis: over the nine published necks'
    :data:`EXPLORED_SEEDS` that all of them have on the trees at ``fidelity``, the τ and ρ between rankings by the
    means of two disjoint groups of k seeds (``seed_agreement(..., seeds_per_side=k)``, every split averaged) for
    each k up to half the seeds, the ρ that Spearman–Brown predicts for it from the single-seed ρ, and what a
    ranking by k-seed means costs (k × the nine's mean CPU-seconds per training)."""
    trees = explored_tree_maps(cells, PUBLISHED_NECKS, fidelity)
    common = sorted(set.intersection(*(set(by_seed) for by_seed in trees.values())))
    if len(common) < 2:
        return {}
    table = {n: {s: trees[n][s] for s in common} for n in PUBLISHED_NECKS}
    trainings = len(PUBLISHED_NECKS) * len(common)
    cpu_per_training = cpu_seconds(cells, "trees", PUBLISHED_NECKS, fidelity, common) / trainings
    by_k = {}
    for k in range(1, len(common) // 2 + 1):
        agreement = seed_agreement(table, seeds_per_side=k)
        by_k[str(k)] = {"tau": agreement["tau"], "rho": agreement["rho"], "splits": len(agreement["pairs"]),
                        "rho_spearman_brown": spearman_brown(by_k["1"]["rho"], k) if k > 1 else agreement["rho"],
                        "cpu_hours_nine": k * len(PUBLISHED_NECKS) * cpu_per_training / 3600}
    return {"fidelity": fidelity, "seeds": common, "cpu_s_per_training": cpu_per_training, "by_seeds_per_side": by_k,
            "seed_noise": pooled_std([list(v.values()) for v in table.values()])}


def object_shapes(image_size: int = 128) -> Dict[str, Dict]:
    """What the two datasets' validation objects look like at the proxies' ``image_size`` (square images resized to
    it): images, objects per image, classes, and the 10th/50th/90th percentile of a box's side (square root of its
    area) in pixels — the measured side of "what the synthetic data lacks"."""
    from necksearch.data import ensure_synthetic_coco, ensure_trees_coco
    shapes = {}
    for name, root in (("trees", ensure_trees_coco()), ("synthetic", ensure_synthetic_coco()),
                       ("dense", ensure_synthetic_coco(DENSE_ROOT, style="dense"))):
        data = json.loads((root / "annotations" / "instances_val.json").read_text())
        factor = image_size / max(data["images"][0]["width"], data["images"][0]["height"])
        sides = sorted(math.sqrt(a["bbox"][2] * a["bbox"][3]) * factor for a in data["annotations"])
        shapes[name] = {"images": len(data["images"]), "objects_per_image": len(sides) / len(data["images"]),
                        "classes": len(data["categories"]), "image_size": image_size,
                        "side_px_p10_p50_p90": [sides[int(q * (len(sides) - 1))] for q in (0.1, 0.5, 0.9)]}
    return shapes


def dense_transfer(cells: Dict, trees: Dict[str, Dict[int, float]], shapes: Dict[str, Dict[int, float]],
                   draws: int) -> Dict:
    """The dense synthetic data against the trees, over the graphs trained on it at the synthetic default fidelity
    (at least two seeds) that the trees and the shapes have too: per graph its seeds, its seed noise and seed τ,
    dense → trees τ and ρ with the bootstrap, and the shapes → trees and shapes → dense over the same graphs (all
    of them, the published necks among them, and the ones that train on both synthetic datasets: ≥ COLLAPSED), so
    that the two synthetic datasets are compared on equal terms."""
    dense = maps_of(cells, "dense", (*PUBLISHED_NECKS, *DRAWS))
    names = [n for n in (*PUBLISHED_NECKS, *DRAWS) if len(dense[n]) >= 2 and trees.get(n) and shapes.get(n)]
    if len(names) < 3:
        return {}
    published = [n for n in names if n in PUBLISHED_NECKS]

    def over(graphs: List[str]) -> Dict:
        d, t, s = _means(dense, graphs), _means(trees, graphs), _means(shapes, graphs)
        return {"graphs": graphs, "dense_to_trees": _transfer(d, t, draws), "shapes_to_trees": _transfer(s, t, draws),
                "shapes_to_dense": rank_correlation(s, d)}

    return {"dense": {n: {"maps": [dense[n][s] for s in sorted(dense[n])], "seeds": sorted(dense[n]),
                          **mean_std(list(dense[n].values()))} for n in names},
            "summary": side_summary({n: dense[n] for n in names}), "all": over(names),
            "trainable": over([n for n in names if min(_means(dense, [n]) + _means(shapes, [n])) >= COLLAPSED]),
            "published": over(published) if len(published) >= 3 else {},
            "cpu_s": cpu_seconds(cells, "dense", names, DEFAULT_FIDELITY)}


def _means(table: Dict[str, Dict[int, float]], names: List[str]) -> List[float]:
    return [statistics.fmean(table[n].values()) for n in names]


def _transfer(x: List[float], y: List[float], draws: int) -> Dict:
    """Kendall τ and Spearman ρ of ``x`` against ``y`` with their bootstrap intervals."""
    return {**rank_correlation(x, y), "bootstrap_95": bootstrap(x, y, draws)}


def _against_fpn(trees: Dict[str, Dict[int, float]], names: List[str]) -> Dict[str, float]:
    """Each neck's tree mean over fpn's (empty without fpn)."""
    if not trees.get("fpn"):
        return {}
    fpn = statistics.fmean(trees["fpn"].values())
    return {n: statistics.fmean(trees[n].values()) / fpn for n in names}


def epoch_averaging(cells: Dict, fidelity: str = "6ep|128px") -> Dict:
    """A smoother tree score at no training cost: each published neck scored by the mean of its last ``w`` epochs' bbox
    mAP (``w`` in :data:`EPOCH_WINDOWS`; the proxy evaluates every epoch) over the :data:`EXPLORED_SEEDS` all nine have.
    Per window: the k-seed agreement (τ for k up to half the seeds), the pooled seed noise, the τ between the window's
    all-seed means and the final mAP's (how far it still ranks what the final mAP ranks), and the agreement at k = 1 and
    3 within each half of the seeds (whether a gain shows in both halves: a consistency check, since a window chosen on
    all seeds is not validated by them). Every curve must have at least the largest window's epochs."""
    curves, common = published_curves(cells, fidelity, EXPLORED_SEEDS)
    if len(common) < 2:
        return {}
    final = _means(window_scores(curves, 1, common), list(PUBLISHED_NECKS))
    halves = (common[:len(common) // 2], common[len(common) // 2:])
    by_window = {}
    for window in EPOCH_WINDOWS:
        table = window_scores(curves, window, common)
        by_window[str(window)] = {
            "tau_by_seeds_per_side": {str(k): seed_agreement(table, seeds_per_side=k)["tau"]
                                      for k in range(1, len(common) // 2 + 1)},
            "seed_noise": pooled_std([list(v.values()) for v in table.values()]),
            "tau_against_final": rank_correlation(final, _means(table, list(PUBLISHED_NECKS)))["tau"],
            "halves": [{str(k): seed_agreement(window_scores(curves, window, half), seeds_per_side=k)["tau"]
                        for k in (1, 3)} for half in halves]}
    return {"fidelity": fidelity, "seeds": common, "halves": [list(h) for h in halves], "by_window": by_window}


def published_curves(cells: Dict, fidelity: str, seeds, label: str = "trees",
                     epochs: int = max(EPOCH_WINDOWS)) -> tuple:
    """(graph → seed → mAP after each epoch, the seeds among ``seeds`` that all nine published necks finished) of
    ``label`` at ``fidelity``; every such curve must have at least ``epochs`` epochs."""
    by_graph = curves_by_graph(cells, label, fidelity)
    curves = {n: {s: c for s, c in by_graph.get(n, {}).items() if s in seeds} for n in PUBLISHED_NECKS}
    common = sorted(set.intersection(*(set(by_seed) for by_seed in curves.values())))
    short = [f"{n} seed {s}" for n in PUBLISHED_NECKS for s in common if len(curves[n][s]) < epochs]
    if short:
        raise ValueError(f"{label} curves shorter than {epochs} epochs at {fidelity}: {', '.join(short)}")
    return curves, common


def window_scores(curves: Dict[str, Dict[int, List[float]]], window: int,
                  seeds: List[int]) -> Dict[str, Dict[int, float]]:
    """graph → seed → the mean bbox mAP of its last ``window`` epochs (``study.training_score``'s reading)."""
    return {n: {s: statistics.fmean(curves[n][s][-window:]) for s in seeds} for n in curves}


def fresh_seeds(cells: Dict, fidelity: str = "6ep|128px") -> Dict:
    """The chosen window checked where it was not chosen: on :data:`FRESH_SEEDS` of the nine published necks, the
    k-seed agreement (k up to half of them) and the pooled seed noise of the final mAP and of the mean of the last
    :data:`CHOSEN_WINDOW` epochs, their all-seed rankings' τ against each other and against the explored seeds'
    final-mAP ranking, and the seeds' CPU cost."""
    curves, common = published_curves(cells, fidelity, FRESH_SEEDS)
    if len(common) < 2:
        return {}
    explored, explored_seeds = published_curves(cells, fidelity, EXPLORED_SEEDS)
    explored_final = _means(window_scores(explored, 1, explored_seeds), list(PUBLISHED_NECKS))
    by_window = {}
    for window in (1, CHOSEN_WINDOW):
        table = window_scores(curves, window, common)
        agreement = {str(k): seed_agreement(table, seeds_per_side=k) for k in range(1, len(common) // 2 + 1)}
        means = _means(table, list(PUBLISHED_NECKS))
        by_window[str(window)] = {
            "tau_by_seeds_per_side": {k: a["tau"] for k, a in agreement.items()},
            "splits": {k: len(a["pairs"]) for k, a in agreement.items()},
            "seed_noise": pooled_std([list(v.values()) for v in table.values()]),
            "means": dict(zip(PUBLISHED_NECKS, means)),
            "tau_against_explored_final": rank_correlation(explored_final, means)["tau"]}
    cpu = cpu_seconds(cells, "trees", PUBLISHED_NECKS, fidelity, common)
    return {"fidelity": fidelity, "seeds": common, "window": CHOSEN_WINDOW, "by_window": by_window,
            "tau_window_against_final": rank_correlation(list(by_window["1"]["means"].values()),
                                                         list(by_window[str(CHOSEN_WINDOW)]["means"].values()))["tau"],
            "cpu_s": cpu, "cpu_s_per_training": cpu / (len(PUBLISHED_NECKS) * len(common))}


def sampled_agreement(table: Dict[str, Dict[int, float]], k: int, splits: int, seed: int = 0) -> float:
    """The mean Kendall τ between rankings by the means of two disjoint groups of ``k`` seeds, over ``splits``
    random splits (``random.Random(seed)``): ``seed_agreement`` at k for seed counts whose splits are too many to
    enumerate (18 seeds, 6 a side: 8.6 million)."""
    rng = random.Random(seed)
    seeds = sorted(set.intersection(*(set(by_seed) for by_seed in table.values())))
    taus = []
    for _ in range(splits):
        drawn = rng.sample(seeds, 2 * k)
        sides = [_means({n: {s: table[n][s] for s in half} for n in table}, list(table))
                 for half in (drawn[:k], drawn[k:])]
        taus.append(rank_correlation(*sides)["tau"])
    return statistics.fmean(t for t in taus if t is not None)


def all_tree_seeds(cells: Dict, fidelity: str = "6ep|128px", splits: int = 2000) -> Dict:
    """Over every tree seed of the nine published necks (explored and fresh together): the k-seed agreement for k up
    to half of them, sampled (:func:`sampled_agreement`, ``splits`` splits a k), for the final mAP and the mean of the
    last :data:`CHOSEN_WINDOW` epochs, and the CPU-hours a ranking of the nine by k-seed means costs."""
    curves, common = published_curves(cells, fidelity, range(max(FRESH_SEEDS) + 1))
    if len(common) <= len(EXPLORED_SEEDS):
        return {}
    trainings = len(PUBLISHED_NECKS) * len(common)
    cpu_per_training = cpu_seconds(cells, "trees", PUBLISHED_NECKS, fidelity, common) / trainings
    by_window = {str(window): {str(k): sampled_agreement(window_scores(curves, window, common), k, splits)
                               for k in range(1, len(common) // 2 + 1)} for window in (1, CHOSEN_WINDOW)}
    return {"seeds": common, "splits": splits, "tau_by_seeds_per_side": by_window,
            "cpu_hours_nine": {str(k): k * len(PUBLISHED_NECKS) * cpu_per_training / 3600
                               for k in range(1, len(common) // 2 + 1)}}


def default_fidelity_windows(cells: Dict) -> Dict:
    """Whether a smoother score helps at the search's default fidelity (3 epochs, 128²) too: on the nine published
    necks' seeds 0-2 on the shapes (label ``synthetic``) and on the dense shapes (``dense``), per window of the last
    1-3 epochs the seed-to-seed τ and ρ (means over seed pairs), the pooled seed noise and the τ against the final
    mAP's ranking; for the shapes also the largest difference between these retrainings' final mAPs and the ones
    the sections above use (grid2's, fpt's from ``fpt_rt_cells.json``): whether they reproduce them."""
    result = {}
    for label in ("synthetic", "dense"):
        curves, common = published_curves(cells, DEFAULT_FIDELITY, range(3), label, max(DEFAULT_WINDOWS))
        if len(common) < 2:
            continue
        final_maps = window_scores(curves, 1, common)
        final = _means(final_maps, list(PUBLISHED_NECKS))
        by_window = {}
        for window in DEFAULT_WINDOWS:
            table = window_scores(curves, window, common)
            agreement, means = seed_agreement(table), _means(table, list(PUBLISHED_NECKS))
            by_window[str(window)] = {"tau": agreement["tau"], "rho": agreement["rho"],
                                      "seed_noise": pooled_std([list(v.values()) for v in table.values()]),
                                      "tau_against_final": rank_correlation(final, means)["tau"]}
        result[label] = {"seeds": common, "by_window": by_window}
        if label == "synthetic":
            used = synthetic_side(cells)
            result[label]["largest_difference_to_used"] = max(
                abs(final_maps[n][s] - used[n][s]) for n in PUBLISHED_NECKS for s in common)
    return result


def spearman_brown(single: float, k: int) -> Optional[float]:
    """The reliability of a mean of ``k`` seeds predicted from a single seed's, ``k·r / (1 + (k − 1)·r)``
    (Spearman 1910, Brown 1910), read here with the single-seed Spearman ρ between two seeds' rankings as r;
    ``None`` for r ≤ 0 (or unknown), where the prophecy does not apply."""
    return k * single / (1 + (k - 1) * single) if single is not None and single > 0 else None


def _subset(names: List[str], x: List[float], y: List[float], keep) -> Dict:
    """τ and ρ over the graphs ``keep(name, synthetic mean)`` admits, with their names."""
    kept = [i for i, n in enumerate(names) if keep(n, x[i])]
    return {**rank_correlation([x[i] for i in kept], [y[i] for i in kept]), "graphs": [names[i] for i in kept]}


def per_graph_rows(result: Dict) -> List[str]:
    """transfer_trees.md's per-graph table, best tree mean first: each side's per-seed mAPs and mean, the trees' std
    and each published neck's tree mean over fpn's."""
    rows = ["| graph | synthetic seeds | synthetic mean | trees seeds | trees mean ± std | trees / fpn |",
            "|---|---|---|---|---|---|"]
    for name in sorted(result["graphs"], key=lambda n: -result["trees"][n]["mean"]):
        synthetic, trees = result["synthetic"][name], result["trees"][name]
        ratio = result["trees_vs_fpn"].get(name)
        rows.append(f"| {name} | {' / '.join(f'{v:.3f}' for v in synthetic['maps'])} | {synthetic['mean']:.3f} | "
                    f"{' / '.join(f'{v:.3f}' for v in trees['maps'])} | {trees['mean']:.3f} ± {trees['std']:.3f} | "
                    f"{'' if ratio is None else f'{ratio:.2f}'} |")
    return rows


def render(result: Dict, path: Path) -> None:
    """Tree means against the shapes' (left) and, once measured, against the dense synthetic data's (right)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    dense = result.get("dense")
    fig, axes = plt.subplots(1, 2 if dense else 1, figsize=(13 if dense else 7, 5.5), squeeze=False)
    _scatter(axes[0][0], result["graphs"], result["synthetic"], result["trees"], result["transfer"],
             "synthetic shapes: bbox mAP (3 ep, 128², mean ± std over seeds)", "synthetic → trees")
    if dense:
        _scatter(axes[0][1], dense["all"]["graphs"], dense["dense"], result["trees"], dense["all"]["dense_to_trees"],
                 "dense synthetic (data synth --style dense): bbox mAP (3 ep, 128²)", "dense → trees")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def render_seeds(result: Dict, path: Path) -> None:
    """Seed-to-seed τ on the trees against seeds a side: the final mAP and the last-epochs mean over every seed
    (sampled splits), the same on the fresh seeds alone, and the issue's 0.6."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    every, fresh = result["trees_all_seeds"], result["trees_fresh_seeds"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for window, colour in (("1", "tab:grey"), (str(CHOSEN_WINDOW), "tab:green")):
        name = "final mAP" if window == "1" else f"mean of the last {window} epochs"
        taus = every["tau_by_seeds_per_side"][window]
        ax.plot([int(k) for k in taus], list(taus.values()), "o-", color=colour,
                label=f"{name}, seeds {every['seeds'][0]}–{every['seeds'][-1]}")
        taus = fresh["by_window"][window]["tau_by_seeds_per_side"]
        ax.plot([int(k) for k in taus], list(taus.values()), "s--", color=colour, mfc="none",
                label=f"{name}, fresh seeds {fresh['seeds'][0]}–{fresh['seeds'][-1]} only")
    ax.axhline(0.6, color="tab:red", lw=0.8, ls=":", label="issue 21's target τ 0.6")
    ax.set_xlabel("seeds a side (each ranking by k-seed means)")
    ax.set_ylabel("Kendall τ between the two rankings")
    ax.set_title("the nine published necks on the trees (6 ep, 128²)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _scatter(ax, graphs: List[str], x_side: Dict, y_side: Dict, transfer: Dict, xlabel: str, title: str) -> None:
    """Each graph's two means with their stds; graphs that train on neither side (mAP < ``COLLAPSED``) are counted
    in τ but left off the axes, which would otherwise squeeze every trainable graph into a corner."""
    collapsed = [n for n in graphs if max(x_side[n]["mean"], y_side[n]["mean"]) < COLLAPSED]
    for name in (n for n in graphs if n not in collapsed):
        x, y = x_side[name], y_side[name]
        colour = "tab:blue" if name in PUBLISHED_NECKS else "tab:orange"
        ax.errorbar(x["mean"], y["mean"], xerr=x["std"], yerr=y["std"], fmt="o", color=colour, capsize=2)
        ax.annotate(name.replace("grid2_", ""), (x["mean"], y["mean"]), xytext=(4, 3), textcoords="offset points",
                    fontsize=7)
    interval = transfer["bootstrap_95"]["tau"]
    ax.set_xlabel(xlabel)
    ax.set_ylabel("tree crowns: bbox mAP (6 ep, 128², mean ± std over seeds)")
    off = ", ".join(n.replace("grid2_", "") for n in collapsed)
    off = f"; off the axes (collapsed on both): {off}" if collapsed else ""
    ax.set_title(f"{title}: Kendall τ {transfer['tau']:.2f} [{interval[0]:.2f}, {interval[1]:.2f}], Spearman ρ "
                 f"{transfer['rho']:.2f}\n(blue: published, orange: draws{off})", fontsize=9)
    ax.grid(alpha=0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default=str(RESULTS / "transfer_trees_cells.json"))
    parser.add_argument("--out", default=str(RESULTS / "transfer_trees"))
    parser.add_argument("--draws", type=int, default=2000, help="bootstrap resamples")
    args = parser.parse_args()
    cells = json.loads(Path(args.cells).read_text())["cells"]
    trees = explored_tree_maps(cells, (*PUBLISHED_NECKS, *DRAWS))
    synthetic = synthetic_side(cells)
    result = analyse(trees, synthetic, args.draws, stale_rt(cells))
    for side, table in (("trees", trees), ("synthetic", synthetic)):
        result[side] = {n: {"maps": [table[n][s] for s in sorted(table[n])], "seeds": sorted(table[n]),
                            **mean_std(list(table[n].values()))} for n in result["graphs"]}
    result["trees_higher"] = {fidelity: entry for fidelity in HIGHER_TREES
                              if (entry := higher_fidelity(cells, synthetic, fidelity, args.draws))}
    result["trees_seed_averaging"] = seed_averaging(cells)
    result["trees_epoch_averaging"] = epoch_averaging(cells)
    result["trees_fresh_seeds"] = fresh_seeds(cells)
    result["trees_all_seeds"] = all_tree_seeds(cells)
    result["default_fidelity_windows"] = default_fidelity_windows(cells)
    result["dense"] = dense_transfer(cells, trees, synthetic, args.draws)
    result["object_shapes"] = object_shapes()
    out = Path(args.out)
    write_text_atomic(out.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
    render(result, out.with_suffix(".png"))
    if result["trees_all_seeds"] and result["trees_fresh_seeds"]:
        render_seeds(result, out.with_name(out.name + "_seeds.png"))
    print(json.dumps({k: result[k] for k in ("transfer", "transfer_published", "transfer_trainable",
                                              "transfer_without_stale_rt", "trees_summary", "synthetic_summary",
                                              "trees_vs_fpn") if k in result}, indent=1))
    for fidelity, entry in result["trees_higher"].items():
        print(f"trees at {fidelity}:", json.dumps({k: entry[k] for k in ("summary", "transfer_published", "vs_fpn",
                                                                            "cpu_s")}, indent=1))
    print("trees, rankings by k-seed means:", json.dumps(result["trees_seed_averaging"], indent=1))
    print("trees, scores averaged over the last epochs:", json.dumps(result["trees_epoch_averaging"], indent=1))
    print("trees, the chosen window on fresh seeds:", json.dumps(result["trees_fresh_seeds"], indent=1))
    print("trees, every seed:", json.dumps(result["trees_all_seeds"], indent=1))
    print("the last epochs at the synthetic default fidelity:",
          json.dumps(result["default_fidelity_windows"], indent=1))
    if result["dense"]:
        print("dense synthetic:", json.dumps({k: result["dense"][k] for k in ("summary", "all", "published", "cpu_s")},
                                             indent=1))
    print("validation objects at 128²:", json.dumps(result["object_shapes"], indent=1))
    print("\n".join(per_graph_rows(result)))


if __name__ == "__main__":
    main()
