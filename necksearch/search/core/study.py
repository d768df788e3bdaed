"""The Optuna study as the search's durable record: what each trial carries and the questions a search asks.

Every trial of a necksearch study carries these user attributes (optuna-dashboard shows them):

* ``graph_hash`` — the canonical hash of its neck graph; ``graph_yaml`` — the graph itself;
* ``fixed_point`` — the preset it is (``None`` for a sampled trial); ``summary`` — the ops in short;
* ``fidelity`` — epochs asked, image size, data fraction, base config, seed; ``epochs_reached``;
* ``params`` / ``flops`` — the neck at COCO scale (ResNet-50 widths, 256 channels, 1280×832, the
  A²-FPN paper's counting protocol), the numbers the papers compare;
* ``zero_cost`` — for a trial chosen by ``--screen``: its zero-cost scores and its rank among the graphs screened;
* ``confirm`` — for a trial ``necksearch confirm`` trained: the graph's label (a preset name, or ``trial-N`` for the
  search's trial N), its hash, the seed and the fidelity (``search.confirm``); such a trial never counts towards the
  search's ``--num-trials``, but answers a duplicate at its fidelity like any other; ``reused_from`` — for a
  confirmation's trial copied from another run of the same recipe (``confirm --reuse``): that run and trial;
* ``fail_reason`` (FAIL), ``pruned_reason`` (PRUNED), ``duplicate_of`` (a graph already evaluated at this
  fidelity, answered from that trial without training), ``constraint_violation`` (the space's
  ``max_neck_params``/``max_neck_flops`` or one of its ``rules`` refused it: PRUNED with no reported value, never
  trained — PRUNED, not FAIL, because Optuna's TPE learns only from COMPLETE and PRUNED trials, and a refusal it
  cannot see is proposed again; studies before 2026-12-06 hold such trials as FAIL), ``node`` (the Ray node id that
  trained it).

The study, not Ray's experiment state, is what ``--resume`` continues from (see ``searcher.py``).
"""
from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Sequence

from necksearch.errors import NeckSearchError

GRAPH_HASH = "graph_hash"
GRAPH_YAML = "graph_yaml"
FIXED_POINT = "fixed_point"
SUMMARY = "summary"
FIDELITY = "fidelity"
EPOCHS_REACHED = "epochs_reached"
#: CPU-seconds of the trial's training process so far (``TrialReportHook``'s ``cpu_s``).
CPU_SECONDS = "cpu_seconds"
#: Wall seconds of the trial's training so far (``TrialReportHook``'s ``train_s``).
TRAIN_SECONDS = "train_seconds"
FAIL_REASON = "fail_reason"
PRUNED_REASON = "pruned_reason"
DUPLICATE_OF = "duplicate_of"
CONSTRAINT = "constraint_violation"
NODE = "node"
ZERO_COST = "zero_cost"
CONFIRM = "confirm"
#: A path scored with a trained supernet's weights (``--screen supernet:N``): the name it has in screen.json.
SCORED_BY_SUPERNET = "supernet"
#: A training another run did, copied into a confirmation (``confirm --reuse``): ``"RUN_DIR#NUMBER"``.
REUSED_FROM = "reused_from"
#: The run's Optuna artifact store: each trained trial's graph drawing, shown by optuna-dashboard.
ARTIFACTS = "artifacts"
#: Study attribute: the space's ``max_train_cost`` in seconds as the search's first session measured it
#: (``cost.plan.train_cost_bound``); later sessions hold their trials to the same bound.
TRAIN_COST_BOUND = "train_cost_bound"
#: Trial attribute: what ``hooks.TrainCostBoundHook`` measured ({seconds per training iteration, clock, bound}).
TRAIN_COST = "train_cost"


def confirm_note(label: str, graph_hash: str, seed: int, fidelity: Mapping[str, Any]) -> Dict[str, Any]:
    """The ``confirm`` attribute of a confirmation's trial: the graph's label and hash, the seed and the fidelity."""
    return {"label": label, "hash": graph_hash, "seed": seed, "fidelity": dict(fidelity)}


def enqueue_fixed_points(study: Any, samples: Mapping[str, Dict[str, Any]]) -> None:
    """Queue each fixed point's sample (preset name → sample) before any sampled trial, once per study."""
    with quiet_optuna():
        for name, sample in samples.items():
            study.enqueue_trial(sample, user_attrs={FIXED_POINT: name}, skip_if_exists=True)


def enqueue_screened(study: Any, screened: Mapping[str, Dict[str, Any]]) -> None:
    """Queue the graphs ``--screen`` chose (name → {sample, scores, rank}) after the fixed points, with their scores."""
    with quiet_optuna():
        for entry in screened.values():
            study.enqueue_trial(entry["sample"], user_attrs={ZERO_COST: {"rank": entry["rank"], **entry["scores"]}},
                                skip_if_exists=True)


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines off for the enclosed calls: a resumed study answers every queued graph with a line of
    its parameters ("... already exists. Skipping enqueue") and its loading with "Using an existing study", noise in
    the search's progress."""
    import optuna
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


def is_trained(trial: Any) -> bool:
    """A trial that got (or is getting) a training: it has a graph and answers no duplicate or constraint (a path
    the supernet scored was not trained)."""
    attrs = trial.user_attrs
    return GRAPH_HASH in attrs and DUPLICATE_OF not in attrs and CONSTRAINT not in attrs and SCORED_BY_SUPERNET not in attrs


def is_sampled(trial: Any) -> bool:
    """Whether ``trial`` is a draw of the sampler: neither a fixed point nor a confirmation's trial (the space's rules
    and ``max_train_cost`` hold only for these; the others train as asked)."""
    return not trial.user_attrs.get(FIXED_POINT) and CONFIRM not in trial.user_attrs


def tell_refused(study: Any, trial: Any, violations: Sequence[str]) -> None:
    """Tell ``study`` that the space refused ``trial``'s draw (its ``max_neck_*`` bounds or one of its ``rules``;
    ``max_train_cost`` refusals, which come after a few iterations, the searcher tells PRUNED when their trial ends):
    PRUNED with no value, the violations under ``constraint_violation``. PRUNED, not FAIL: Optuna's TPE models only
    COMPLETE and PRUNED trials, and told FAIL it kept proposing refused graphs (98-100% of its draws after start-up
    against 4-5% told PRUNED: ``benchmarks/results/tpe_refusals.md``)."""
    from optuna.trial import TrialState
    trial.set_user_attr(CONSTRAINT, "; ".join(violations))
    study.tell(trial, state=TrialState.PRUNED)


def own_trainings(trials: Iterable[Any]) -> List[Any]:
    """A search's own trainings among ``trials``, finished or not: trained, and no confirmation's (fixed points are
    the search's own)."""
    return [t for t in trials if is_trained(t) and CONFIRM not in t.user_attrs]


def spent_seconds(trial: Any, clock: str) -> float:
    """What ``trial``'s training has spent up to its last epoch report, on ``clock`` (``cpu``: its CPU-seconds,
    ``wall``: its wall seconds; ``cost.plan.cost_clock``). A trial recorded before ``train_seconds`` existed
    (2026-12-06) counts its CPU-seconds on the wall clock too: for a one-thread training, at most its wall time."""
    user = trial.user_attrs
    seconds = user.get(CPU_SECONDS) if clock == "cpu" else user.get(TRAIN_SECONDS, user.get(CPU_SECONDS))
    return float(seconds or 0.0)


def run_spent_seconds(trials: Iterable[Any], clock: str) -> float:
    """What a run's own trainings among ``trials`` have spent on ``clock``, every session together
    (``--max-trial-hours``'s account)."""
    return sum(spent_seconds(t, clock) for t in own_trainings(trials))


def trained_trials(trials: Iterable[Any], fidelity: Mapping[str, Any]) -> List[Any]:
    """The trained trials at ``fidelity``, finished or not, a confirmation's included."""
    return [t for t in trials if is_trained(t) and t.user_attrs.get(FIDELITY) == dict(fidelity)]


def searched_trials(trials: Iterable[Any], fidelity: Mapping[str, Any]) -> List[Any]:
    """The trained trials at ``fidelity`` that the search itself ran (the ones its ``--num-trials`` counts)."""
    return [t for t in trained_trials(trials, fidelity) if CONFIRM not in t.user_attrs]


def finished_by_hash(trials: Iterable[Any], fidelity: Mapping[str, Any], stops_early: bool = True) -> Dict[str, Any]:
    """Graph hash → the finished trained trial at ``fidelity`` that evaluated it (for deduplication). Without
    ``stops_early`` (no scheduler: every trial trains to the end), a trial a scheduler stopped early answers nothing:
    its graph is trained again."""
    from optuna.trial import TrialState
    return {t.user_attrs[GRAPH_HASH]: t for t in trained_trials(trials, fidelity)
            if t.state.is_finished() and (stops_early or t.state != TrialState.PRUNED)}


def refused_over_cost(trials: Iterable[Any], fidelity: Mapping[str, Any]) -> Dict[str, Any]:
    """Graph hash → a finished trial at ``fidelity`` whose training the space's ``max_train_cost`` refused (a search
    answers a draw of the same graph from it instead of training it again)."""
    return {t.user_attrs[GRAPH_HASH]: t for t in trials if TRAIN_COST in t.user_attrs and CONSTRAINT in t.user_attrs
            and t.user_attrs.get(FIDELITY) == dict(fidelity) and t.state.is_finished()}


def interrupted(trials: Iterable[Any], fidelity: Mapping[str, Any]) -> List[Any]:
    """Trials at ``fidelity`` still RUNNING in the storage: their search was killed, maybe while drawing them
    (before their attributes were written: those count too); ``--resume`` hands them out again and they
    continue from their checkpoints."""
    from optuna.trial import TrialState
    return [t for t in trials if t.state == TrialState.RUNNING and
            t.user_attrs.get(FIDELITY, t.user_attrs.get(CONFIRM, {}).get("fidelity", fidelity)) == fidelity]


def artifact_store(run_dir: Path) -> Any:
    """The run's Optuna artifact store (``RUN_DIR/artifacts``)."""
    from optuna.artifacts import FileSystemArtifactStore
    (Path(run_dir) / ARTIFACTS).mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(Path(run_dir) / ARTIFACTS))


def training_score(trial: Any, last: int = 1) -> float:
    """A finished training's score: its final bbox mAP (``last`` 1), or the mean of its last ``last`` epochs'
    validation mAP, read from the mAP per epoch its study recorded (intermediate values: a single-objective study).

    Averaging the last epochs lowers a training's seed noise, but it weighs earlier epochs too: measured on the tree
    proxy (last 4 of 6 epochs) and at the synthetic default (last 2 or 3 of 3) it ranked the nine published necks no
    more alike across fresh seeds than the final mAP (``benchmarks/results/transfer_trees.md``, "Fresh seeds", "The
    last epochs at the search's fidelity"). ``NeckSearchError`` names the trial whose record lacks one of those
    epochs."""
    if last == 1:
        return float(trial.values[0])
    reached = int(trial.user_attrs.get(EPOCHS_REACHED, 0))
    epochs = range(reached - last + 1, reached + 1)
    if reached < last:
        raise NeckSearchError(f"--average-last {last}: trial {trial.number} trained {reached} epoch(s)")
    missing = [epoch for epoch in epochs if epoch not in trial.intermediate_values]
    if missing:
        why = ("a multi-objective study records no mAP per epoch" if len(trial.values or ()) > 1 else
               "its training reported none for them")
        raise NeckSearchError(f"--average-last {last}: trial {trial.number} holds no mAP for epoch(s) "
                              f"{', '.join(map(str, missing))} of its {reached} ({why})")
    return sum(trial.intermediate_values[epoch] for epoch in epochs) / last


def check_average_last(last: Any, epochs: Any) -> None:
    """``--average-last`` is a whole number of at least 1 and no more than the ``epochs`` trained (``None``: the
    config's own epochs, checked per trial by :func:`training_score`)."""
    if isinstance(last, bool) or not isinstance(last, int) or last < 1:
        raise NeckSearchError(f"--average-last must be at least 1 (1: the final epoch's mAP), got {last!r}")
    if epochs is not None and last > epochs:
        raise NeckSearchError(f"--average-last {last} is more epochs than the {epochs} trained")


def score_name(last: int) -> str:
    """What :func:`training_score` measures, in words."""
    return "bbox mAP" if last == 1 else f"mean bbox mAP of the last {last} epochs"


def recorded_score(results: Mapping[str, Any]) -> str:
    """The score a confirmation's or fidelity run's results compare (``score_name``; results written before
    ``--average-last`` compared the final mAP and do not name it)."""
    return results.get("score", score_name(1))


def finite_number(value: Any) -> bool:
    """A reported metric that is a real number (not None, NaN, inf or a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
