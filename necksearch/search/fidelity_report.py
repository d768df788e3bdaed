"""What a fidelity run writes: ``fidelity_results.json``, ``fidelity_results.md`` (per-graph table, agreement lines)
and ``fidelity.png`` (low against high mean mAP per graph, seed std as error bars). The numbers are
``fidelity.summarise``'s."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from necksearch.search.core.study import recorded_score
from necksearch.train.fidelity import Fidelity
from necksearch.search.rank.statistics import number_text


def write_results(run_dir: Path, results: Mapping[str, Any], say: Callable[[str], None]) -> None:
    (run_dir / "fidelity_results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    text = results_markdown(results)
    (run_dir / "fidelity_results.md").write_text(text, encoding="utf-8")
    render_scatter(results, run_dir / "fidelity.png")
    say(text)
    say(f"results: {run_dir / 'fidelity_results.md'}, {run_dir / 'fidelity.png'}")


def results_markdown(results: Mapping[str, Any]) -> str:
    """The per-graph table and the agreement lines, as Markdown."""
    low, high = results["fidelities"]["low"], results["fidelities"]["high"]
    lines = [f"low = {Fidelity.of(low).describe()}, {results['seeds']['low']} seeds; "
             f"high = {Fidelity.of(high).describe()}, "
             f"{results['seeds']['high']} seeds; score: {recorded_score(results)}", "",
             "| graph | low mAP (mean ± std) | high mAP (mean ± std) |", "|---|---|---|"]
    order = sorted(results["graphs"].items(), key=lambda item: -(item[1]["high"]["mean"] or -1))
    for name, stats in order:
        lines.append(f"| {name} | {_pm(stats['low'])} | {_pm(stats['high'])} |")
    lines.append("")
    for level in results["fidelities"]:
        agreement = results["seed_to_seed"][level]
        lines.append(f"- seed to seed at {level}: Kendall τ {number_text(agreement['tau'])}, Spearman ρ "
                     f"{number_text(agreement['rho'])} (mean over {len(agreement['pairs'])} seed pairs); seed noise "
                     f"(pooled std) {number_text(results['seed_noise'][level], '.4f')}")
    low_high = results["low_to_high"]
    lines.append(f"- low to high (means over seeds, {low_high['graphs']} graphs): Kendall τ {number_text(low_high['tau'])}, "
                 f"Spearman ρ {number_text(low_high['rho'])}")
    return "\n".join(lines) + "\n"


def render_scatter(results: Mapping[str, Any], path: Path) -> Path:
    """Low against high mean mAP per graph, seed std as error bars, names beside the points."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    points = [(name, s["low"], s["high"]) for name, s in results["graphs"].items() if s["low"]["n"] and s["high"]["n"]]
    fig, ax = plt.subplots(figsize=(7, 6))
    at = [(low["mean"], high["mean"]) for _, low, high in points]
    labels = _label_positions(at)
    for (name, low, high), point, label in zip(points, at, labels):
        ax.errorbar(*point, xerr=low["std"], yerr=high["std"], fmt="o", capsize=3)
        moved = abs(label[1] - point[1]) > 1e-12
        ax.annotate(name, point, xytext=label, fontsize=7, va="center",
                    arrowprops=dict(arrowstyle="-", lw=0.5, color="0.5") if moved else None)
    if labels:  # names moved up stay inside the axes
        bottom, top = ax.get_ylim()
        ax.set_ylim(bottom, max(top, max(y for _, y in labels) + 0.03 * (top - bottom)))
    low_high = results["low_to_high"]
    score = recorded_score(results)
    ax.set_xlabel(f"{score} at low fidelity ({Fidelity.of(results['fidelities']['low']).describe()})")
    ax.set_ylabel(f"{score} at high fidelity ({Fidelity.of(results['fidelities']['high']).describe()})")
    ax.set_title(f"rank fidelity: Kendall τ {number_text(low_high['tau'])}, Spearman ρ {number_text(low_high['rho'])}")
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _label_positions(points: Sequence[Tuple[float, float]]) -> List[Tuple[float, float]]:
    """Where each point's name goes: just right of it, moved up (greedily, lowest point first) until it clears the
    names already placed — the scatter's clusters of graphs with close mAPs otherwise print names over each other."""
    if not points:
        return []
    xs, ys = [x for x, _ in points], [y for _, y in points]
    x_span, y_span = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    width, gap = 0.16 * x_span, 0.028 * y_span  # about one name's length, one line of 7-point text
    placed: List[Tuple[float, float]] = []
    labels: Dict[int, Tuple[float, float]] = {}
    for index in sorted(range(len(points)), key=lambda i: points[i][1]):
        x, y = points[index][0] + 0.012 * x_span, points[index][1]
        while any(abs(x - px) < width and abs(y - py) < gap for px, py in placed):
            y += gap
        placed.append((x, y))
        labels[index] = (x, y)
    return [labels[i] for i in range(len(points))]


def _pm(stats: Mapping[str, Any]) -> str:
    if not stats["n"]:
        return "–"
    return f"{stats['mean']:.3f} ± {stats['std']:.3f} (n={stats['n']})"
