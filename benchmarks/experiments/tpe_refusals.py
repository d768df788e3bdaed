"""How often TPE proposes a graph the default space's rules refuse, when a refusal is told to Optuna as FAIL (what
the searcher did until 2026-12-06) and as PRUNED with no reported value (what it does since); random sampling, which
learns nothing, gives the space's own refused share for reference.

Optuna's TPE models only COMPLETE and PRUNED trials: a FAIL is invisible to them, so a region of the
space that the rules refuse is never learnt, and the search campaign's TPE arm stopped twice after 200 refused draws in
a row (``searcher.MAX_DRAWS``) with 9 trials trained. A PRUNED trial with no intermediate value ranks below every
other in TPE's split (``_get_pruned_trial_score``), so refused regions land in the "bad" density.

No training: each draw is ``space.suggest`` on an Optuna trial, refused by ``space.check_rules`` or given a stand-in
mAP, a fixed pseudo-random number of its parameters (the same for a graph under both policies). Reported per policy and
sampler seed: the refused share of draws 1-25 (TPE's start-up) and of draws 26 to ``--draws``, and the longest run of
refusals in a row.

    .venv/bin/python benchmarks/experiments/tpe_refusals.py --draws 300 --seeds 0,1,2 \\
        --out benchmarks/results/tpe_refusals
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Dict, List

import optuna

from necksearch.files import write_text_atomic
from necksearch.space import load_space

#: sampler, and the state a refused draw is told with
POLICIES = {"tpe_fail": ("tpe", optuna.trial.TrialState.FAIL), "tpe_pruned": ("tpe", optuna.trial.TrialState.PRUNED),
            "random": ("random", optuna.trial.TrialState.PRUNED)}
STARTUP = 25


def stand_in_map(params: Dict) -> float:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2 ** 32


def draw(policy: str, seed: int, draws: int, space) -> List[bool]:
    """Whether each of ``draws`` TPE proposals (the searcher's sampler settings) was refused by a rule."""
    sampler_name, refused_state = POLICIES[policy]
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=5) if sampler_name == "tpe" \
        else optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    refused = []
    for _ in range(draws):
        trial = study.ask()
        space.suggest(trial)
        violations = space.check_rules(trial.params)
        refused.append(bool(violations))
        if violations:
            study.tell(trial, state=refused_state)
        else:
            study.tell(trial, stand_in_map(trial.params))
    return refused


def longest_run(flags: List[bool]) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/tpe_refusals"))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = load_space("default")
    rows = {}
    for policy in POLICIES:
        for seed in (int(s) for s in args.seeds.split(",")):
            refused = draw(policy, seed, args.draws, space)
            rows[f"{policy}/seed{seed}"] = {
                "policy": policy, "seed": seed, "draws": args.draws,
                "refused_startup": sum(refused[:STARTUP]) / STARTUP,
                "refused_after": sum(refused[STARTUP:]) / (args.draws - STARTUP),
                "longest_run": longest_run(refused), "refused": refused}
            row = rows[f"{policy}/seed{seed}"]
            print(f"{policy:>10} seed {seed}: refused {row['refused_startup']:.0%} of draws 1-{STARTUP}, "
                  f"{row['refused_after']:.0%} of draws {STARTUP + 1}-{args.draws}; longest run {row['longest_run']}",
                  flush=True)
    write_text_atomic(args.out.with_suffix(".json"), json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
