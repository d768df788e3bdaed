"""Seeded draws of a space: the same distinct, feasible graphs for the same seed, whoever asks (the plan's cost
sample, ``--screen``'s candidates, a fidelity run's samples)."""
from __future__ import annotations

from typing import Any, Dict

from necksearch.errors import NeckSearchError


def seeded_draws(space: Any, count: int, seed: int, taken: set, require_all: bool = True) -> Dict[str, Dict[str, Any]]:
    """``count`` distinct graphs drawn by Optuna's RandomSampler(seed) from ``space`` (within its rules and its
    constraints, which are counted only where the space has any); fewer, without ``require_all``, when 50 draws per graph
    found no more."""
    import optuna

    from necksearch.analysis.complexity import count_neck
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    draws: Dict[str, Dict[str, Any]] = {}
    for _ in range(50 * max(count, 1)):
        if len(draws) == count:
            break
        trial = study.ask()
        sample = space.suggest(trial)
        graph = space.freeze(sample)
        study.tell(trial, 0.0)
        graph_hash = graph.canonical_hash()
        if graph_hash in taken or space.check_rules(sample) or space.constraints and space.check_constraints(
                dict(zip(("params", "flops"), count_neck(graph)))):
            continue
        taken.add(graph_hash)
        draws[f"sample{len(draws):02d}"] = sample
    if len(draws) < count and require_all:
        raise NeckSearchError(f"--samples {count}: space {space.name!r} gave only {len(draws)} distinct feasible graphs")
    return draws
