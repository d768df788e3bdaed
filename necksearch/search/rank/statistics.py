"""The statistics every judgement of necksearch uses: seed noise, rank agreement, and differences beyond noise.

A graph's mAP varies with the training seed; these functions say how much (``mean_std``, ``pooled_std``), how far
two rankings agree (``rank_correlation``: scipy's Kendall τ-b and Spearman ρ; ``seed_agreement``: averaged over
every pair of seeds, or of disjoint groups of seeds ranked by their means) and whether one graph beats another
beyond that noise (``welch_interval``).
"""
from __future__ import annotations

import itertools
import math
import statistics
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple


def mean_std(values: List[float]) -> Dict[str, Any]:
    """``{"mean", "std", "n"}`` of ``values`` (sample std; 0 for one value; ``None`` for none)."""
    if not values:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values)}


def pooled_std(groups: Sequence[Sequence[float]]) -> Optional[float]:
    """The root of the mean sample variance over groups with at least two values (seed noise of one graph)."""
    variances = [statistics.variance(group) for group in groups if len(group) > 1]
    return math.sqrt(statistics.fmean(variances)) if variances else None


def seed_agreement(by_graph: Mapping[str, Mapping[int, float]], seeds_per_side: int = 1) -> Dict[str, Any]:
    """Kendall τ and Spearman ρ between two rankings of the graphs by their mean over disjoint groups of
    ``seeds_per_side`` seeds, averaged over every such pair of groups (over graphs that have all their seeds).

    At 1 it compares every pair of seeds; at k, how far a ranking by k-seed means repeats with k other seeds (the
    reliability that averaging k trainings per graph buys)."""
    pairs = []
    for group_a, group_b in disjoint_seed_groups(sorted({s for by_seed in by_graph.values() for s in by_seed}),
                                                 seeds_per_side):
        shared = [name for name, by_seed in by_graph.items() if all(s in by_seed for s in (*group_a, *group_b))]
        pairs.append(rank_correlation([statistics.fmean(by_graph[n][s] for s in group_a) for n in shared],
                                      [statistics.fmean(by_graph[n][s] for s in group_b) for n in shared]))
    taus = [p["tau"] for p in pairs if p["tau"] is not None]
    rhos = [p["rho"] for p in pairs if p["rho"] is not None]
    return {"tau": statistics.fmean(taus) if taus else None, "rho": statistics.fmean(rhos) if rhos else None,
            "pairs": pairs}


def disjoint_seed_groups(seeds: Sequence[int], size: int) -> List[Tuple[Tuple[int, ...], Tuple[int, ...]]]:
    """Every unordered pair of disjoint groups of ``size`` seeds (at 1: every pair of seeds, in order)."""
    return [(a, b) for a in itertools.combinations(seeds, size)
            for b in itertools.combinations([s for s in seeds if s not in a], size) if a < b]


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> Dict[str, Any]:
    """Kendall τ-b and Spearman ρ of two paired lists (``None`` with fewer than 3 pairs or a constant list)."""
    from scipy.stats import kendalltau, spearmanr
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return {"tau": None, "rho": None, "n": len(x)}
    return {"tau": float(kendalltau(x, y).statistic), "rho": float(spearmanr(x, y).statistic), "n": len(x)}


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Tuple[float, float, float]:
    """(mean of ``b`` − mean of ``a``, low, high): the difference with its Welch t interval at ``level`` (unequal
    variances, Welch–Satterthwaite degrees of freedom). Each side needs at least two values; with no spread on
    either side the interval is the difference itself."""
    from scipy.stats import t
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a Welch interval needs at least two values a side, got {len(a)} and {len(b)}")
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    diff = statistics.fmean(b) - statistics.fmean(a)
    if va + vb == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(t.ppf(0.5 + level / 2, dof)) * math.sqrt(va + vb)
    return diff, diff - half, diff + half


def number_text(value: Optional[float], spec: str = ".2f") -> str:
    """A statistic in a table: ``value`` formatted by ``spec``, or "–" when it could not be computed."""
    return "–" if value is None else format(value, spec)
