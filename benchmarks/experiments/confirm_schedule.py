"""How long ``necksearch confirm`` takes with all its seeds as one Tune run (``SearcherChain``, since 2026-12-07)
against one Tune run a seed (its schedule before), one after the other in one process on two copies of one search's
record, and whether both schedules give the same per-seed mAPs (every training is seeded and deterministic, so they
must).

Each schedule confirms the same graphs (``--trials``) against the same published necks (``--against``) at the same
fresh seeds (``--first-seed``, ``--seeds``, then ``--holdout`` held-out seeds) in its own copy of RUN's record
(``study.db``, ``search.json``, ``recipe.py``; not its trainings), nothing reused: RUN's study must hold no training at
those seeds and its search the default storage (its own ``study.db``, which the copy takes). The one-run-a-seed
schedule is the chained one called with one seed at a time (``confirm.train_seeds([sub])`` for each seed in turn), which
is what every confirmation ran before. The one-run-a-seed schedule goes first; ``--chained-first`` runs the other first.

    .venv/bin/python benchmarks/experiments/confirm_schedule.py --run runs/campaign/campaign-random-s1 --trials 10 \\
        --against fpn --seeds 2 --holdout 2 --first-seed 40 --out benchmarks/results/confirm_schedule
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

from necksearch.files import write_text_atomic
from necksearch.search import confirm as confirm_module
from necksearch.search.confirm import ConfirmSettings, run_confirm

#: What a confirmation reads of a search run; the trainings' directories are not needed.
RECORD = ("study.db", "search.json", "recipe.py")
SCHEDULES = ("one run a seed", "one run")


def check_run(run: Path, seeds: range) -> None:
    """Stop unless ``run`` is a search with its own ``study.db`` and no training at ``seeds`` (they would be reused,
    and the timing would say nothing)."""
    import optuna

    from necksearch.search.core import study as attrs
    from necksearch.search.core.settings import SearchSettings
    missing = [name for name in RECORD if not (run / name).is_file()]
    if missing:
        raise SystemExit(f"--run {run}: no {', '.join(missing)} (give a search's run directory)")
    settings = SearchSettings.load(run)
    if settings.storage is not None:
        raise SystemExit(f"--run {run}: its study is in {settings.storage}, not its study.db, which a copy would take")
    study = optuna.load_study(study_name=settings.name, storage=f"sqlite:///{run / 'study.db'}")
    taken = sorted({t.user_attrs[attrs.FIDELITY]["seed"] for t in study.get_trials(deepcopy=False)
                    if t.user_attrs.get(attrs.FIDELITY, {}).get("seed") in seeds})
    if taken:
        raise SystemExit(f"--run {run}: its study trained at seed(s) {', '.join(map(str, taken))} already: give a "
                         f"--first-seed past them")


def copy_record(run: Path, dest: Path) -> Path:
    """A copy of ``run``'s record under ``dest`` (same run name, so its stored settings apply); the copy's path."""
    copy = dest / run.name
    if copy.exists():
        raise SystemExit(f"{copy} exists: give an --work directory that is empty")
    copy.mkdir(parents=True)
    for name in RECORD:
        shutil.copy2(run / name, copy / name)
    return copy


def one_run_a_seed(chained: Callable[..., None]) -> Callable[..., None]:
    """``train_seeds`` as it ran before: each seed its own Tune run, one after another."""
    def train(subs: List[Any], storage: Any, candidates: List[Any], say: Callable[[str], None]) -> None:
        for sub in subs:
            chained([sub], storage, candidates, say)
    return train


def timed_confirm(schedule: str, settings: ConfirmSettings, say: Callable[[str], None]) -> Dict[str, Any]:
    """Run the confirmation under ``schedule``: its wall seconds, the load after it, its per-seed mAPs."""
    chained = confirm_module.train_seeds
    if schedule == SCHEDULES[0]:
        confirm_module.train_seeds = one_run_a_seed(chained)
    try:
        start = time.monotonic()
        results = run_confirm(settings, write=say)
        wall = time.monotonic() - start
    finally:
        confirm_module.train_seeds = chained
    return {"wall_s": wall, "load_after": os.getloadavg(), "maps": {label: graph["maps"] for label, graph in
                                                                   results["graphs"].items()},
            "holdout_maps": results.get("holdout", {}).get("maps", {})}


def markdown(args: argparse.Namespace, measured: Dict[str, Dict[str, Any]]) -> str:
    before, after = (measured[name] for name in SCHEDULES)
    same = before["maps"] == after["maps"] and before["holdout_maps"] == after["holdout_maps"]
    rows = "\n".join(f"| {name} | {m['wall_s'] / 60:.1f} min | {m['load_after'][0]:.2f} |"
                     for name, m in measured.items())  # the 1-minute load at its end: was anything else running?
    return (f"# `necksearch confirm`: all seeds as one Tune run against one run a seed\n\n"
            f"`benchmarks/experiments/confirm_schedule.py` on {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}: "
            f"{args.run.name} trial(s) {', '.join(map(str, args.trials))} against {', '.join(args.against)}, seeds "
            f"{args.first_seed}–{args.first_seed + args.seeds - 1}, then {args.holdout} held-out seeds; "
            f"{'the one-run schedule' if args.chained_first else 'the one-run-a-seed schedule'} first.\n\n"
            f"| schedule | wall | load (1 min) after |\n|---|---|---|\n{rows}\n\n"
            f"One run against one run a seed: **{after['wall_s'] / before['wall_s']:.2f}× the wall time**; per-seed "
            f"mAPs {'identical' if same else 'DIFFERENT'} under both schedules.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a finished search's run directory")
    parser.add_argument("--trials", type=lambda text: tuple(int(t) for t in text.split(",")), required=True)
    parser.add_argument("--against", type=lambda text: tuple(text.split(",")), default=("fpn",))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--holdout", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=40)
    parser.add_argument("--chained-first", action="store_true")
    parser.add_argument("--work", type=Path, default=Path("runs/confirm_schedule"))
    parser.add_argument("--out", type=Path, required=True, help="PATH: writes PATH.json and PATH.md")
    args = parser.parse_args()
    check_run(args.run, range(args.first_seed, args.first_seed + args.seeds + args.holdout + 1))
    order = SCHEDULES[::-1] if args.chained_first else SCHEDULES
    measured = {}
    for schedule in order:
        copy = copy_record(args.run, args.work / schedule.replace(" ", "_"))
        settings = ConfirmSettings(str(copy), trials=args.trials, seeds=args.seeds, holdout=args.holdout,
                                   first_seed=args.first_seed, against=args.against)
        measured[schedule] = timed_confirm(schedule, settings, lambda text: print(f"[{schedule}] {text}", flush=True))
    measured = {name: measured[name] for name in SCHEDULES}
    write_text_atomic(args.out.with_suffix(".json"), json.dumps(
        {"run": str(args.run), "trials": args.trials, "against": args.against, "seeds": args.seeds,
         "holdout": args.holdout, "first_seed": args.first_seed, "order": list(order), "measured": measured},
        indent=2) + "\n")
    text = markdown(args, measured)
    write_text_atomic(args.out.with_suffix(".md"), text)
    print(text)


if __name__ == "__main__":
    main()
