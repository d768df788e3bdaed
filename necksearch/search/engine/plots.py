"""Search pictures, each a data function (tested) and a renderer: the Pareto front and learning curves."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Sequence

from necksearch.search.core import study as attrs

COST_LABELS = {"params": "neck parameters (M, COCO scale)", "flops": "neck GMACs (1280×832)",
               "latency": "neck latency (ms)"}
COST_UNITS = {"params": 1e6, "flops": 1e9, "latency": 1.0}


def pareto_points(rows: Sequence[Dict[str, Any]], objectives: Sequence[str]) -> Dict[str, Any]:
    """mAP against the cost objective (the second objective, else neck params) for trained trials.

    Returns ``{"cost": name, "points": [{number, label, state, cost, map, front}]}``; ``front`` marks the
    COMPLETE trials no other COMPLETE trial beats on both (higher-or-equal mAP at lower-or-equal cost).
    """
    cost = objectives[1] if len(objectives) > 1 else "params"
    points = []
    for row in rows:
        value = row["metrics"].get(cost, row.get(cost))
        mean_ap = row["metrics"]["map"]
        if row["trained"] and attrs.finite_number(value) and attrs.finite_number(mean_ap):
            points.append({"number": row["number"], "label": row["fixed_point"] or f"#{row['number']}",
                           "state": row["state"], "cost": float(value), "map": float(mean_ap), "front": False})
    complete = [p for p in points if p["state"] == "COMPLETE"]
    for point in complete:
        point["front"] = not any(_dominates(other, point) for other in complete)
    return {"cost": cost, "points": points}


def _dominates(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    return a["map"] >= b["map"] and a["cost"] <= b["cost"] and (a["map"] > b["map"] or a["cost"] < b["cost"])


def render_pareto(data: Dict[str, Any], path: Path) -> Path:
    """Scatter of every point (pruned hollow), the front as a step line, labels for fixed points and the front."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    unit = COST_UNITS[data["cost"]]
    fig, axes = plt.subplots(figsize=(7, 4.5))
    for state, style in (("COMPLETE", dict(color="tab:blue")), ("PRUNED", dict(facecolors="none", edgecolors="tab:gray"))):
        chosen = [p for p in data["points"] if p["state"] == state]
        axes.scatter([p["cost"] / unit for p in chosen], [p["map"] for p in chosen], label=state.lower(), **style)
    front = sorted((p for p in data["points"] if p["front"]), key=lambda p: p["cost"])
    if front:
        axes.step([p["cost"] / unit for p in front], [p["map"] for p in front], where="post", color="tab:red",
                  marker="o", markersize=11, markerfacecolor="none", label="Pareto front")
    for point in data["points"]:
        if point["front"] or not point["label"].startswith("#"):
            axes.annotate(point["label"], (point["cost"] / unit, point["map"]), fontsize=7,
                          xytext=(3, 3), textcoords="offset points")
    axes.set_xlabel(COST_LABELS[data["cost"]])
    axes.set_ylabel("bbox mAP (search fidelity)")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    return _save(fig, path)


def render_curves(rows: Sequence[Dict[str, Any]], epochs: int, path: Path) -> Path:
    """mAP per epoch of every trained trial (dashed: pruned or failed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(figsize=(7, 4.5))
    for row in rows:
        curve = row["metrics"]["map_by_epoch"]
        if row["trained"] and curve:
            steps = sorted(curve)
            axes.plot(steps, [curve[s] for s in steps], marker="o", linestyle="-" if row["state"] == "COMPLETE" else "--",
                      label=row["fixed_point"] or f"#{row['number']}")
    axes.set_xlim(0.8, max(epochs, 1) + 0.2)
    axes.set_xticks(range(1, max(epochs, 1) + 1))
    axes.set_xlabel("epoch")
    axes.set_ylabel("bbox mAP")
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
