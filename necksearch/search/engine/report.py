"""What a search leaves in its run directory, all read back from the study (the durable record):

* ``results.json`` — one entry per trial: number, state, graph hash, fixed point or null, metrics, params,
  FLOPs, epochs reached, fidelity, and why it failed / was pruned / was not trained (duplicate);
* ``leaderboard.txt`` (also printed) — trained trials, best first;
* ``pareto.png`` (mAP against the second objective, or neck params) and ``curves.png`` (mAP per epoch);
* ``graphs/trial_NNNN.png`` — every trained trial's graph;
* ``best/graph.yaml``, ``best/graph.png`` and ``best/config.py`` — the best graph, its drawing and an MMDetection
  config that trains it (``necksearch train RUN_DIR/best/config.py``, or MMDetection's ``tools/train.py``); once
  ``necksearch confirm`` has run, best/ is the confirmed best and the report leaves it alone.

The leaderboard and the best are the search's own trials; a confirmation's trials (``confirm``) are listed in
results.json only.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from necksearch.search.core import study as attrs
from necksearch.search.cost.measured import describe, describe_ranker, measured_for, ranker_measured
from necksearch.search.core.settings import SearchSettings
from necksearch.train.recipe import Recipe

STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "FAIL": 2, "RUNNING": 3, "WAITING": 4}
#: ``necksearch confirm``'s results in the run directory (``search.confirm``).
CONFIRM_RESULTS = "confirm.json"


@dataclasses.dataclass
class Report:
    """Where the report went, and the rows it holds (``rows``: results.json's trials)."""

    run_dir: Path
    rows: List[Dict[str, Any]]
    best: Optional[Dict[str, Any]]
    leaderboard: str


def trial_row(trial: Any, objectives: List[str]) -> Dict[str, Any]:
    """results.json's entry for one Optuna trial."""
    user = trial.user_attrs
    curve = {int(step): value for step, value in sorted(trial.intermediate_values.items())}
    values = dict(zip(objectives, trial.values)) if trial.values else {}
    return {"number": trial.number, "state": trial.state.name, "graph_hash": user.get(attrs.GRAPH_HASH),
            "fixed_point": user.get(attrs.FIXED_POINT), "summary": user.get(attrs.SUMMARY),
            "metrics": {"map": values.get("map", curve[max(curve)] if curve else None), "map_by_epoch": curve,
                        **{k: v for k, v in values.items() if k != "map"}},
            "params": user.get("params"), "flops": user.get("flops"),
            "epochs_reached": user.get(attrs.EPOCHS_REACHED, 0), "fidelity": user.get(attrs.FIDELITY),
            "fail_reason": user.get(attrs.FAIL_REASON) or _refusal(trial, "FAIL"),
            "pruned_reason": user.get(attrs.PRUNED_REASON) or _refusal(trial, "PRUNED"),
            "duplicate_of": user.get(attrs.DUPLICATE_OF),
            "trained": attrs.is_trained(trial), "node": user.get(attrs.NODE), "confirm": user.get(attrs.CONFIRM)}


def _refusal(trial: Any, state: str) -> Optional[str]:
    """The constraint that refused ``trial``, as the reason of its ``state`` (PRUNED; FAIL in studies before
    2026-12-06)."""
    return trial.user_attrs.get(attrs.CONSTRAINT) if trial.state.name == state else None


def rank_key(row: Dict[str, Any]):
    """Leaderboard order: COMPLETE before PRUNED before FAIL, then higher mAP, then fewer params."""
    mean_ap = row["metrics"]["map"]
    return (STATE_ORDER.get(row["state"], 9), -(mean_ap if attrs.finite_number(mean_ap) else -1.0), row["params"] or 0)


def leaderboard(rows: List[Dict[str, Any]], noise: Optional[float] = None) -> str:
    """The trained trials as a table, best first; with the measured seed ``noise``, a rank column in which
    COMPLETE trials less than the noise below their group's leader share its rank, marked ``=``."""
    header = f"{'trial':>5}  {'graph':<38} {'mAP':>7} {'params':>8} {'GMACs':>7} {'state':<8} {'epochs':>6}"
    ordered = sorted((r for r in rows if r["trained"]), key=rank_key)
    ranks = tie_ranks(ordered, noise) if noise is not None else {}
    header += f" {'rank':>5}" if ranks else ""
    lines = [header, "-" * len(header)]
    for row in ordered:
        name = row["fixed_point"] or row["summary"] or "?"
        mean_ap = row["metrics"]["map"]
        line = (f"{row['number']:>5}  {name[:38]:<38} {_fmt(mean_ap, '.4f'):>7} "
                f"{_fmt(_scaled(row['params'], 1e6), '.2f') + 'M':>8} {_fmt(_scaled(row['flops'], 1e9), '.1f'):>7} "
                f"{row['state']:<8} {row['epochs_reached']:>3}/{(row['fidelity'] or {}).get('epochs', '?')}")
        lines.append(line + (f" {ranks.get(row['number'], ''):>5}" if ranks else ""))
    return "\n".join(lines)


def tie_ranks(ordered: List[Dict[str, Any]], noise: float) -> Dict[int, str]:
    """Trial number → rank among the COMPLETE rows of ``ordered`` (best first): a row less than ``noise`` mAP
    below the first row of the current group joins it; shared ranks end in ``=``."""
    complete = [r for r in ordered if r["state"] == "COMPLETE" and attrs.finite_number(r["metrics"]["map"])]
    groups: List[List[Dict[str, Any]]] = []
    for row in complete:
        if groups and groups[-1][0]["metrics"]["map"] - row["metrics"]["map"] < noise:
            groups[-1].append(row)
        else:
            groups.append([row])
    ranks, position = {}, 1
    for group in groups:
        for row in group:
            ranks[row["number"]] = f"{position}{'=' if len(group) > 1 else ''}"
        position += len(group)
    return ranks


def best_row(rows: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The COMPLETE trained trial with the highest mAP (fewer params break ties); ``None`` if there is none."""
    complete = [r for r in rows if r["state"] == "COMPLETE" and r["trained"] and attrs.finite_number(r["metrics"]["map"])]
    return min(complete, key=rank_key) if complete else None


def write_report(settings: SearchSettings, recipe: Recipe, storage: Any, url: str,
                 say: Callable[[str], None]) -> Report:
    """Read the study and write everything the module docstring lists (the best graph's config on ``recipe``);
    returns the :class:`Report`."""
    import optuna

    from necksearch.search.core.storage import redact
    study = optuna.load_study(study_name=settings.name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    rows = [trial_row(t, list(settings.objectives)) for t in trials]
    searched = [row for row in rows if not row["confirm"]]
    run_dir = settings.run_dir
    best = best_row(searched)
    measured = measured_for(settings.fidelity())
    results = {"study": settings.name, "storage": redact(url), "objectives": list(settings.objectives),
               "directions": list(settings.directions), "fidelity": settings.fidelity(), "measured": measured,
               "best": best["number"] if best else None, "trials": rows}
    (run_dir / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    table = leaderboard(searched, measured["seed_noise"] if measured else None) + "\n" + describe(measured)
    if settings.screen:
        ranker = settings.screening.score
        table += "\n" + describe_ranker(ranker, ranker_measured(ranker, settings.fidelity(), settings.template))
    (run_dir / "leaderboard.txt").write_text(table + "\n", encoding="utf-8")
    say(table)
    _draw_all(settings, trials, searched, say)
    if confirmed(run_dir):
        say(f"best/ holds the confirmed best ({run_dir / 'confirm.md'}); the search's single-seed best is trial "
            f"{best['number'] if best else '–'}")
    elif best is not None:
        from necksearch.search.engine.export import export_best
        export_best(recipe, settings.name, study.trials[best["number"]], run_dir / "best")
        say(f"best: trial {best['number']} ({best['fixed_point'] or best['summary']}), mAP {best['metrics']['map']:.4f}; "
            f"its graph and MMDetection config are in {run_dir / 'best'}")
    else:
        say("no trial completed, so there is no best graph to export")
    running = [row["number"] for row in searched if row["state"] == "RUNNING"]
    if running:
        say(f"interrupted: trials {', '.join(map(str, running))} did not finish; continue with "
            f"`necksearch search --resume --name {settings.name} --runs-dir {settings.runs_dir}`")
    return Report(run_dir=run_dir, rows=rows, best=best, leaderboard=table)


def _draw_all(settings: SearchSettings, trials: List[Any], rows: List[Dict[str, Any]],
              say: Callable[[str], None]) -> None:
    from necksearch.search.engine import plots
    from necksearch.graph import NeckGraph
    from necksearch.viz import draw
    run_dir = settings.run_dir
    plots.render_pareto(plots.pareto_points(rows, list(settings.objectives)), run_dir / "pareto.png")
    plots.render_curves(rows, settings.epochs, run_dir / "curves.png")
    for trial in trials:  # normally drawn when handed out (searcher._attach_drawing); here any missing one
        path = graph_picture(run_dir, trial.number)
        text = trial.user_attrs.get(attrs.GRAPH_YAML)
        if text and attrs.is_trained(trial) and not path.exists():
            draw(NeckGraph.from_yaml(text, source=f"trial {trial.number}"), path)
    say(f"pictures: {run_dir / 'pareto.png'}, {run_dir / 'curves.png'}, {run_dir / 'graphs'}/")


def confirmed(run_dir: Path) -> bool:
    """Whether a confirmation of ``run_dir`` found a best graph: best/ is then its, and the report leaves it alone."""
    try:
        return json.loads((Path(run_dir) / CONFIRM_RESULTS).read_text(encoding="utf-8")).get("best") is not None
    except (OSError, ValueError):
        return False


def graph_picture(run_dir: Path, number: int) -> Path:
    """Where trial ``number``'s graph drawing goes (its folder created)."""
    (Path(run_dir) / "graphs").mkdir(parents=True, exist_ok=True)
    return Path(run_dir) / "graphs" / f"trial_{number:04d}.png"


def _scaled(value: Any, unit: float) -> Optional[float]:
    return value / unit if attrs.finite_number(value) else None


def _fmt(value: Any, spec: str) -> str:
    return format(value, spec) if attrs.finite_number(value) else "-"
