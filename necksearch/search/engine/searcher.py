"""``NeckSearcher``: a Ray Tune ``Searcher`` whose record is an Optuna study, honest, deduplicating and resumable.

It is written on Tune's public ``Searcher`` interface (``suggest``, ``on_trial_result``, ``on_trial_complete``)
and owns its study through Optuna's public ask-and-tell API; the sampler (TPE, NSGA-II, random) proposes through
``study.ask()``. Tune's ``OptunaSearch`` is not subclassed: everything it adds beyond ask/tell is replaced here,
and reaching into its private state (its study and trial maps) tied necksearch to one Ray release. On top of
ask/tell:

* fixed points first: the space's published architectures are enqueued before any sampled trial;
* deduplication: a sampled graph whose canonical hash was already evaluated at the same fidelity is
  answered from that trial (``duplicate_of``) and another is drawn; no training starts for it;
* constraints: a graph over the space's ``max_neck_params``/``max_neck_flops``, or a sampled one that breaks one
  of its ``rules``, is recorded PRUNED with the violation and no value, and another is drawn: TPE learns from it
  (it ranks a pruned trial without values below every other), where a FAIL is invisible to it and it proposed
  refused graphs 98% of the time (``benchmarks/results/tpe_refusals.md``; NSGA-II reads COMPLETE trials only, and
  learns from neither); a graph being confirmed is trained as asked; a sampled graph whose first training
  iterations cost more than the space's ``max_train_cost`` (``hooks.TrainCostBoundHook``) is PRUNED the same way;
* honest states: a trial ASHA stopped is PRUNED with the epochs it reached (``OptunaSearch`` would tell
  COMPLETE with the early value), a trial that raised is FAIL with the reason its process wrote
  (``trainable.record_failure``), a NaN objective is FAIL; a trial that ends early without an error and
  without the scheduler's say (Ctrl-C) is told nothing and stays RUNNING for ``--resume`` (unless its process recorded
  a ``max_train_cost`` refusal: PRUNED);
* resume: the study is the record. Trials left RUNNING by a killed search are handed out again, under
  their own Optuna trial, and continue from their last epoch checkpoint; finished ones are never re-run.
  Ray's pickled experiment state is not used (``save`` writes nothing to restore from).

Every trial's Tune config names the seed it trains at (``trial.seed``, the searcher's); :class:`SearcherChain` runs
several searchers, one per seed, as one Tune run.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import time
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence

from ray.tune.search import Searcher

from necksearch.search.core import study as attrs
from necksearch.search.cost.budget import FITS, SPENT, Budget
from necksearch.search.core.settings import SearchSettings
from necksearch.search.engine.trainable import cost_refusal, read_failure, read_train_cost, trial_dir

#: Draws in a row that may be duplicates or infeasible before the search stops as exhausted.
MAX_DRAWS = 200


@functools.lru_cache(maxsize=4)
def _space(source: str):
    from necksearch.space import load_space
    return load_space(source)


class NeckSearcher(Searcher):
    """See the module docstring. ``storage``: an Optuna storage object holding (or to hold) the study named after
    the search; ``fixed_points``: preset name → sample, evaluated first; ``screened``: the graphs ``--screen`` chose
    (``zero_cost.screen_space``), evaluated next; ``queued_only``: for ``necksearch confirm``, the hashes of the
    graphs it trains: only trials queued for them are handed out; ``train_cost_bound``: the space's
    ``max_train_cost`` in seconds (``cost.plan.train_cost_bound``), which each sampled trial holds to."""

    def __init__(self, settings: SearchSettings, space_source: str, storage: Any, sampler: Any,
                 fixed_points: Mapping[str, Dict[str, Any]], stopped: Optional[set] = None,
                 budget: Optional[Budget] = None, screened: Optional[Mapping[str, Dict[str, Any]]] = None,
                 queued_only: Optional[frozenset] = None,
                 train_cost_bound: Optional[Mapping[str, Any]] = None) -> None:
        import optuna
        metric = list(settings.objectives) if len(settings.objectives) > 1 else "map"
        mode = list(settings.directions) if len(settings.objectives) > 1 else "max"
        super().__init__(metric=metric, mode=mode)
        with attrs.quiet_optuna():
            self._study = optuna.create_study(study_name=settings.name, storage=storage, sampler=sampler,
                                              directions=settings.study_directions, load_if_exists=True)
        self._storage = storage
        self._settings = settings
        self._space_source = space_source
        self._fidelity = settings.fidelity()
        attrs.enqueue_fixed_points(self._study, fixed_points)
        attrs.enqueue_screened(self._study, screened or {})
        trials = self._study.get_trials(deepcopy=False)
        self._finished = attrs.finished_by_hash(trials, self._fidelity, stops_early=settings.scheduler != "none")
        #: graphs the space's max_train_cost refused: a later draw of one is answered from it (a fixed point's or a
        #: confirmation's trial of the same graph still trains, as asked)
        self._over_cost = attrs.refused_over_cost(trials, self._fidelity)
        # trials a killed run left RUNNING, each resumed by its own kind of run: a search's by the search, a
        # confirmation's by the confirmation (at the search's fidelity both hold trials)
        self._resumable = collections.deque(t for t in attrs.interrupted(trials, self._fidelity)
                                            if self._is_ours(t, queued_only))
        #: Tune trial id → the Optuna trial it evaluates; ids told their outcome.
        self._trials: Dict[str, Any] = {}
        self._told: set = set()
        self._live: Dict[str, int] = {}
        self._reported: Dict[int, set] = {}
        #: Tune trial ids the scheduler stopped (``scheduler.NoiseAwareASHA``): only these end PRUNED.
        self._stopped = stopped if stopped is not None else set()
        #: ``--max-hours``: no trial is handed out that would end past it; hand-out times, to learn trial lengths.
        self._budget = budget
        self._started: Dict[str, float] = {}
        #: ``necksearch confirm``: hand out only the trials queued for this fidelity and these graphs (``confirm``
        #: note), never a draw of the sampler nor another queued trial (a search's leftover fixed points or screened
        #: graphs, or what a killed confirmation with another choice of graphs left queued).
        self._queued_only = queued_only
        #: the space's max_train_cost in seconds: the first session's measurement, kept in the study for the others
        self._train_cost_bound = self._study.user_attrs.get(attrs.TRAIN_COST_BOUND) or \
            (dict(train_cost_bound) if train_cost_bound else None)
        if self._train_cost_bound and attrs.TRAIN_COST_BOUND not in self._study.user_attrs:
            self._study.set_user_attr(attrs.TRAIN_COST_BOUND, self._train_cost_bound)

    @staticmethod
    def _is_ours(trial: Any, queued_only: Optional[frozenset]) -> bool:
        """Whether ``trial`` (interrupted, or queued) is this run's to hand out: a search's own trial for a search, a
        confirmation's trial of one of its graphs for a confirmation."""
        note = trial.user_attrs.get(attrs.CONFIRM)
        if queued_only is None:
            return note is None
        return note is not None and note.get("hash") in queued_only

    @property
    def study(self) -> Any:
        return self._study

    @property
    def resuming(self) -> bool:
        """Whether trials a killed run left RUNNING are still to be handed out (``SearcherChain`` takes them first)."""
        return bool(self._resumable)

    @property
    def train_cost_bound(self) -> Optional[Dict[str, Any]]:
        """The ``max_train_cost`` (in seconds) this search's sampled trials are held to, or ``None``."""
        return self._train_cost_bound

    # ------------------------------------------------------------------ Tune's Searcher interface

    def suggest(self, trial_id: str) -> Optional[Dict]:
        if self._budget is not None and not self._budget.session_allows():
            return Searcher.FINISHED
        while self._resumable:  # trials a killed search left RUNNING, under their own numbers (already budgeted)
            interrupted = self._resumable.popleft()
            self._reported[interrupted.number] = set(interrupted.intermediate_values)
            config = self._hand_out(trial_id, self._reopen(interrupted.number))
            if config is not None:
                return config
        verdict = self._budget.run_verdict(**self.run_spend(), can_wait=bool(self._live)) \
            if self._budget is not None else FITS
        if verdict != FITS:  # WAIT: running trials may end early and leave room; Tune asks again later
            return Searcher.FINISHED if verdict == SPENT else None
        self._started[trial_id] = time.monotonic()  # a new trial: its length teaches the session's budget
        for _ in range(MAX_DRAWS):
            trial = self._queued_trial() if self._queued_only is not None else self._study.ask()
            if trial is None:
                return Searcher.FINISHED
            config = self._hand_out(trial_id, trial)
            if config is not None:
                return config
        return Searcher.FINISHED

    def run_spend(self) -> Dict[str, Any]:
        """For ``--max-trial-hours``: what the run's own trainings have spent so far over every session, the part of
        it each unfinished one holds, and what each completed one spent (``Budget.run_verdict``'s arguments)."""
        if self._budget is None or self._budget.run_limit_s is None:
            return {}
        trials, clock = self._study.get_trials(deepcopy=False), self._budget.clock
        own = attrs.own_trainings(trials)
        return {"run_spent_s": attrs.run_spent_seconds(trials, clock),
                "running_spent_s": [attrs.spent_seconds(t, clock) for t in own if not t.state.is_finished()],
                "completed_spent_s": [attrs.spent_seconds(t, clock) for t in own if t.state.name == "COMPLETE"]}

    def _queued_trial(self) -> Optional[Any]:
        """The oldest WAITING trial queued for this fidelity (its ``confirm`` note), taken as RUNNING through the
        storage's public API; ``None`` when there is none."""
        import optuna
        from optuna.trial import TrialState
        study_id = self._storage.get_study_id_from_name(self._study.study_name)
        for waiting in self._study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            note = waiting.user_attrs.get(attrs.CONFIRM, {})
            if note.get("fidelity") != self._fidelity or not self._is_ours(waiting, self._queued_only):
                continue
            trial_id = self._storage.get_trial_id_from_study_id_trial_number(study_id, waiting.number)
            if self._storage.set_trial_state_values(trial_id, TrialState.RUNNING):
                return optuna.Trial(self._study, trial_id)
        return None

    def _reopen(self, number: int) -> Any:
        """The live ``optuna.Trial`` of the study's RUNNING trial ``number`` (through the storage's public API),
        so that its stored parameters replay through ``suggest`` and it is told its outcome under its own number."""
        import optuna
        study_id = self._storage.get_study_id_from_name(self._study.study_name)
        return optuna.Trial(self._study, self._storage.get_trial_id_from_study_id_trial_number(study_id, number))

    def on_trial_result(self, trial_id: str, result: Dict) -> None:
        self._record_epoch(self._trials[trial_id], result)

    def _record_epoch(self, trial: Any, result: Mapping[str, Any]) -> None:
        """The epoch reached, the CPU-seconds spent, and for one objective the mAP as an intermediate value (the
        dashboard's curve). Tune hands a trial's last result to ``on_trial_complete`` only, so that calls this too."""
        if "epoch" not in result:
            return
        epoch = int(result["epoch"])
        trial.set_user_attr(attrs.EPOCHS_REACHED, epoch)
        if "node" in result:
            trial.set_user_attr(attrs.NODE, result["node"])
        for key, attr in (("cpu_s", attrs.CPU_SECONDS), ("train_s", attrs.TRAIN_SECONDS)):
            if attrs.finite_number(result.get(key)):
                trial.set_user_attr(attr, float(result[key]))
        reported = self._reported.setdefault(trial.number, set())
        if self.metric == "map" and attrs.finite_number(result.get("map")) and epoch not in reported:
            trial.report(float(result["map"]), step=epoch)
            reported.add(epoch)

    def on_trial_complete(self, trial_id: str, result: Optional[Dict] = None, error: bool = False) -> None:
        if trial_id in self._told:
            return
        trial = self._trials[trial_id]
        graph_hash = trial.user_attrs[attrs.GRAPH_HASH]
        self._record_epoch(trial, result or {})
        epochs = int(trial.user_attrs.get(attrs.EPOCHS_REACHED, 0))
        refused = cost_refusal(trial_dir(self._settings.run_dir, trial.number))
        if not error and not refused and epochs < self._settings.epochs and trial_id not in self._stopped:
            return  # interrupted (Ctrl-C, the search stopping): left RUNNING for --resume to continue
        state, values, note = self._outcome(trial.number, epochs, result or {}, error, refused)
        measured = read_train_cost(self._settings.run_dir, trial.number) if self._train_cost_bound else None
        if measured:
            note[attrs.TRAIN_COST] = measured
        for key, value in note.items():
            trial.set_user_attr(key, value)
        self._study.tell(trial, values, state=state)
        self._told.add(trial_id)
        if self._budget is not None and trial_id in self._started and state == _states().COMPLETE:
            self._budget.observe(time.monotonic() - self._started[trial_id])
        self._live.pop(graph_hash, None)
        finished = self._over_cost if attrs.CONSTRAINT in note else self._finished
        finished[graph_hash] = self._study.trials[trial.number]

    def save(self, checkpoint_path: str) -> None:
        Path(checkpoint_path).write_text("necksearch resumes from the Optuna study, not from this file\n")

    def restore(self, checkpoint_path: str) -> None:
        raise RuntimeError("resume a necksearch search with `necksearch search --resume`, not Tuner.restore")

    # ------------------------------------------------------------------ drawing a trial

    def _hand_out(self, trial_id: str, trial: Any) -> Optional[Dict]:
        """The Tune config of an Optuna trial (new, or resumed: its stored params replay through ``suggest``),
        or ``None`` after recording it as answered without training (duplicate, infeasible, unbuildable)."""
        try:
            graph, graph_hash, params, flops = self._graph_of(trial)
        except Exception as err:  # noqa: BLE001 - a sample that cannot become a counted graph
            trial.set_user_attr(attrs.FAIL_REASON, f"could not build the sampled graph: {type(err).__name__}: {err}")
            self._study.tell(trial, state=_states().FAIL)
            return None
        if graph is None:
            return None
        stored = trial.user_attrs.get(attrs.GRAPH_HASH)
        if stored is not None and stored != graph_hash:  # resumed across a revision of one of its ops
            trial.set_user_attr(attrs.FAIL_REASON, f"an operation of its graph was revised since it began (hash "
                                f"{stored[:12]} is now {graph_hash[:12]}: OpRecord.revision); its checkpoint trained "
                                "the earlier computation, so it is not continued")
            self._study.tell(trial, state=_states().FAIL)
            return None
        space = _space(self._space_source)
        for key, value in self._graph_attrs(graph, graph_hash, params, flops).items():
            trial.set_user_attr(key, value)
        violations = [] if attrs.CONFIRM in trial.user_attrs else \
            space.check_constraints({"params": params, "flops": flops})  # a graph being confirmed trains as asked
        sampled = attrs.is_sampled(trial)
        if sampled:
            violations += space.check_rules(trial.params)  # a fixed point trains whatever the rules say
        if violations:
            attrs.tell_refused(self._study, trial, violations)
            return None
        self._live[graph_hash] = trial.number
        self._trials[trial_id] = trial
        self._attach_drawing(trial, graph)
        config = {"trial": {"number": trial.number, "graph": graph.to_dict(), "params": params, "flops": flops,
                            "seed": self._settings.seed}}
        if sampled and self._train_cost_bound:
            config["trial"]["max_train_cost"] = self._train_cost_bound
        return config

    def _graph_of(self, trial: Any):
        """(graph, hash, params, FLOPs) of the trial's sample; graph ``None`` when it was answered as a duplicate. The
        graph is named after its preset, else the confirmed label (``trial-N`` of the search trial that found it), else
        this trial."""
        from necksearch.analysis.complexity import count_neck
        space = _space(self._space_source)
        name = trial.user_attrs.get(attrs.FIXED_POINT) or trial.user_attrs.get(attrs.CONFIRM, {}).get("label") or \
            f"trial-{trial.number}"
        graph = dataclasses.replace(space.freeze(space.suggest(trial)), name=name)
        graph_hash = graph.canonical_hash()
        if self._answer_duplicate(trial, graph_hash):
            return None, graph_hash, 0, 0
        return (graph, graph_hash, *count_neck(graph))

    def _answer_duplicate(self, trial: Any, graph_hash: str) -> bool:
        """Record ``trial`` as a duplicate of the trial that has (or is evaluating) the same graph, or, for a sampled
        one, of the trial whose graph the space's ``max_train_cost`` refused."""
        states = _states()
        sampled = attrs.is_sampled(trial)
        original = self._finished.get(graph_hash) or (self._over_cost.get(graph_hash) if sampled else None)
        if original is not None:
            trial.set_user_attr(attrs.DUPLICATE_OF, original.number)
            trial.set_user_attr(attrs.GRAPH_HASH, graph_hash)
            if attrs.CONSTRAINT in original.user_attrs:
                trial.set_user_attr(attrs.CONSTRAINT, original.user_attrs[attrs.CONSTRAINT])
            values = original.values if original.state == states.COMPLETE else None
            self._study.tell(trial, values, state=original.state)
            return True
        if graph_hash in self._live:
            trial.set_user_attr(attrs.DUPLICATE_OF, self._live[graph_hash])
            trial.set_user_attr(attrs.GRAPH_HASH, graph_hash)
            trial.set_user_attr(attrs.PRUNED_REASON, f"same graph as trial {self._live[graph_hash]}, still running")
            self._study.tell(trial, state=states.PRUNED)
            return True
        return False

    def _graph_attrs(self, graph: Any, graph_hash: str, params: int, flops: int) -> Dict[str, Any]:
        from necksearch.graph.describe import one_line
        return {attrs.GRAPH_HASH: graph_hash, attrs.GRAPH_YAML: graph.to_yaml(), attrs.SUMMARY: one_line(graph),
                attrs.FIDELITY: self._fidelity, attrs.EPOCHS_REACHED: 0, "params": params, "flops": flops}

    def _attach_drawing(self, trial: Any, graph: Any) -> None:
        """Draw the graph to ``RUN_DIR/graphs/trial_NNNN.png`` and attach it to the trial as an Optuna artifact
        (``RUN_DIR/artifacts``), so optuna-dashboard shows each trial's neck."""
        import optuna

        from necksearch.search.engine.report import graph_picture
        from necksearch.viz import draw
        path = graph_picture(self._settings.run_dir, trial.number)
        if path.exists():
            return  # a resumed trial: drawn and attached before
        draw(graph, path)
        optuna.artifacts.upload_artifact(artifact_store=attrs.artifact_store(self._settings.run_dir), file_path=str(path),
                                         study_or_trial=trial, mimetype="image/png")

    # ------------------------------------------------------------------ telling the outcome

    def _outcome(self, number: int, epochs: int, result: Mapping[str, Any], error: bool, refused: Optional[str]):
        """(state, values, user attributes to set) for a finished Tune trial that reached ``epochs`` (``refused``: the
        space's ``max_train_cost`` refusal its process recorded, ``trainable.cost_refusal``)."""
        states = _states()
        note: Dict[str, Any] = {}
        if refused:  # a refusal, not a failure (the trainable ends such a trial without an error)
            note[attrs.CONSTRAINT] = refused
            return states.PRUNED, None, note
        if error:
            note[attrs.FAIL_REASON] = read_failure(self._settings.run_dir, number)
            return states.FAIL, None, note
        values = [result.get(name) for name in self._settings.objectives]
        missing = [name for name, value in zip(self._settings.objectives, values) if not attrs.finite_number(value)]
        if missing:
            note[attrs.FAIL_REASON] = f"objective {', '.join(missing)} is not a finite number at epoch {epochs}"
            return states.FAIL, None, note
        if epochs < self._settings.epochs:
            note[attrs.PRUNED_REASON] = f"stopped by the scheduler after epoch {epochs} of {self._settings.epochs}"
            return states.PRUNED, None, note
        values = [float(value) for value in values]
        return states.COMPLETE, values if len(values) > 1 else values[0], note


class SearcherChain(Searcher):
    """One Tune run over several :class:`NeckSearcher` (``necksearch confirm``: one per seed, each handing out the
    trainings queued at its seed): a free slot takes the first trial that one of them, in order, still hands out (the
    trainings a killed run left half-done first, whatever their seed), and Tune's calls about a trial go to the
    searcher that handed it out. Run one after another, each seed's Tune run waited for its slowest training while the
    other slots idled, and held-out seeds (one graph a run) trained one at a time."""

    def __init__(self, searchers: Sequence[NeckSearcher]) -> None:
        super().__init__(metric=searchers[0].metric, mode=searchers[0].mode)
        self._searchers = list(searchers)
        self._exhausted: set = set()
        self._owner: Dict[str, NeckSearcher] = {}

    def suggest(self, trial_id: str) -> Optional[Dict]:
        waiting = False
        for index in sorted(range(len(self._searchers)), key=lambda index: not self._searchers[index].resuming):
            if index in self._exhausted:
                continue
            searcher = self._searchers[index]
            config = searcher.suggest(trial_id)
            if config == Searcher.FINISHED:
                self._exhausted.add(index)
            elif config is None:  # nothing now, perhaps later (a budget waiting on running trials)
                waiting = True
            else:
                self._owner[trial_id] = searcher
                return config
        return None if waiting else Searcher.FINISHED

    def on_trial_result(self, trial_id: str, result: Dict) -> None:
        self._owner[trial_id].on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: Optional[Dict] = None, error: bool = False) -> None:
        self._owner[trial_id].on_trial_complete(trial_id, result, error)

    def save(self, checkpoint_path: str) -> None:
        self._searchers[0].save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        raise RuntimeError("continue a necksearch confirmation with the same `necksearch confirm` command, not "
                           "Tuner.restore")


def _states() -> Any:
    from optuna.trial import TrialState
    return TrialState
