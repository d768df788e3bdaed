"""``run_search``: check everything, start (or join) Ray, run the trials with Tune, then report.

The chain (design.md §2): the space suggests a sample → the searcher freezes it to a graph and counts
it → ``train_trial`` trains it with mmengine and reports every epoch → ASHA stops the weak ones →
the searcher tells the Optuna study → ``report.write_report`` turns the study into results, pictures and
the best graph's MMDetection config.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from necksearch.errors import NeckSearchError
from necksearch.catalogue.tables import PLUGINS_VARIABLE
from necksearch.search.core import study as attrs
from necksearch.search.cost.budget import SESSION, Budget
from necksearch.search.cost.estimate import format_duration
from necksearch.search.cost.plan import CLOCK_HOURS, cost_clock, read_cost, trial_order
from necksearch.search.core.settings import Resources, SearchSettings, normalise, sampler_of
from necksearch.train.recipe import Recipe


def prepare(settings: SearchSettings, resume: bool) -> Tuple[SearchSettings, Recipe]:
    """Normalised settings and the search's recipe (resolved and checked once: config, data root, annotation files,
    fidelity; a resumed search's own), the run directory ready (or refused, never overwritten)."""
    from necksearch.search.cost.preflight import check_writable
    settings = normalise(settings)
    check_writable(settings.runs_dir, "--runs-dir")
    exists = (settings.run_dir / "search.json").is_file()
    if exists and not resume:
        raise NeckSearchError(f"run directory {settings.run_dir} already holds a search: "
                              "continue it with --resume, or choose another --name")
    if not exists and resume:
        raise NeckSearchError(f"--resume: {settings.run_dir} holds no search to continue")
    if resume:
        read_cost(settings)  # refused here, before Ray, if edited into something unreadable
    recipe = settings.recipe()
    _check_supernet_screen(settings)
    return settings, recipe


def _check_supernet_screen(settings: SearchSettings) -> None:
    """``--screen supernet:N`` needs one template (``--template`` when the space has several) and objectives it can
    score (mAP from the supernet, params and FLOPs counted; latency is not measured per path)."""
    from necksearch.search.core.rankers import SUPERNET
    from necksearch.space import load_space
    from necksearch.space.single_path import one_template
    if not settings.screen or settings.screening.score != SUPERNET:
        if settings.template is not None:
            raise NeckSearchError("--template chooses the supernet of --screen supernet:N; it means nothing without it")
        return
    one_template(load_space(settings.space), settings.template)
    if "latency" in settings.objectives:
        raise NeckSearchError("--screen supernet:N scores mAP, params and FLOPs of each path; drop latency from "
                              "--objectives or screen by a zero-cost score")


def fixed_point_samples(settings: SearchSettings, space: Any) -> Dict[str, Dict[str, Any]]:
    """Preset name → sample for the fixed points asked (``None``: the space's own list; ``all``: every preset;
    ``published``: the published necks, :data:`~necksearch.graph.presets.PUBLISHED_NECKS`, that are points of the
    space)."""
    from necksearch.graph.presets import PUBLISHED_NECKS, load_preset
    names = space.fixed_points if settings.fixed_points is None else settings.fixed_points
    keywords = [name for name in names if name in ("all", "published", "none")]
    if keywords and len(names) > 1:
        raise NeckSearchError(f"--fixed-points/--against: {keywords[0]!r} stands alone, not in a list of presets "
                              f"({','.join(names)})")
    if tuple(names) == ("all",):
        names = space.presets
    elif tuple(names) == ("published",):
        names = [name for name in PUBLISHED_NECKS if name in space.presets or space.contains(load_preset(name))]
    unknown = [name for name in names if name not in space.presets and name not in space.fixed_points]
    for name in unknown:
        if not space.contains(load_preset(name)):
            raise NeckSearchError(f"--fixed-points: preset {name!r} is not a point of space {space.name!r}")
    return {name: space.sample_of(load_preset(name)) for name in names}


def run_search(settings: SearchSettings, *, resume: bool = False, write: Optional[Callable[[str], None]] = None,
               fixed_points: Optional[Dict[str, Dict[str, Any]]] = None, dry_run: bool = False) -> Any:
    """Run (or continue) a search; returns the :class:`report.Report` it wrote into the run directory, or with
    ``dry_run`` the plan (``plan.make_plan``) after printing it, having trained and written nothing.

    ``fixed_points`` (name → space sample) replaces the presets that ``settings.fixed_points`` names: the
    fidelity command trains seeded samples as fixed points too."""
    from necksearch.search.cost.plan import bound_text, make_plan, plan_text, record_actual, record_estimate
    from necksearch.search.cost.preflight import check_disk
    from necksearch.search.engine.report import write_report
    from necksearch.search.rank.zero_cost import screen_space, write_screen
    from necksearch.search.engine.searcher import NeckSearcher
    from necksearch.search.core.storage import check_storage, open_storage, storage_url
    from necksearch.search.core.rankers import SUPERNET
    from necksearch.search.rank.supernet_screen import record_supernet_trials
    from necksearch.space import load_space
    session_start, since = time.monotonic(), time.time()
    settings, recipe = prepare(settings, resume)
    say = write or (lambda text: print(text, flush=True))
    space = load_space(settings.space)
    if fixed_points is None:
        fixed_points = fixed_point_samples(settings, space)
    url = storage_url(settings.storage, settings.run_dir)
    check_storage(url, settings.name, resume)
    with ray_session(settings.resources):  # and the preflight against its nodes, before anything is written
        startup_s = time.monotonic() - session_start
        storage = open_storage(url) if resume else None  # a new run's storage is created once the plan stands
        finished, done = _finished_so_far(settings, storage) if resume else ([], 0)
        if settings.screen and dry_run:
            say(f"--dry-run does not screen (--screen {settings.screen} would score and, for a supernet, train): "
                "the plan prices its trials as sampled ones")
        candidates, screened = screen_space(settings, recipe, space, fixed_points, settings.max_concurrent, say) \
            if settings.screen and not dry_run else ({}, {})
        order = trial_order(list(fixed_points), finished, settings.num_trials - done)
        if order:
            say("measuring the cost of a training iteration on the trial's resources ...")
        plan = make_plan(settings, recipe, space, fixed_points, order, _nodes(), startup_s,
                         _stored_bound(settings, storage) if resume else None,
                         run_spent_s(settings, storage, cost_clock(settings, recipe))
                         if resume and settings.max_trial_hours else 0.0)
        if dry_run:
            say(plan_text(plan))
            if resume and settings.max_trial_hours:
                say(f"  {run_spent_text(settings, storage, plan['cost_clock'])}")
        check_disk(settings.runs_dir, plan["estimate"]["disk_bytes"],
                   f"--num-trials {settings.num_trials} of --epochs {settings.epochs}")
        if dry_run:
            return plan
        storage = storage or open_storage(url)
        settings.save()  # only once every input is known to be sound: a failed start leaves no run behind
        recipe.save(settings.run_dir)
        write_screen(settings.run_dir, candidates)
        say(f"search {settings.name}: space {space.name}, {settings.num_trials} trials, objectives "
            f"{','.join(settings.objectives)}, run directory {settings.run_dir}"
            + (f"; estimate {format_duration(plan['estimate']['wall_s'])} wall" if order else ""))
        stopped: set = set()
        budget = Budget.of(settings, plan, session_start)
        searcher = NeckSearcher(settings, settings.space, storage, sampler_of(settings), fixed_points, stopped, budget,
                                screened, train_cost_bound=plan.get("train_cost_bound"))
        if budget.run_limit_s is not None:
            say(run_spent_text(settings, storage, budget.clock))
        if searcher.train_cost_bound and None in order:
            say(bound_text(searcher.train_cost_bound))
        if order:  # a session with nothing left to train has no cost to weigh against an estimate
            record_estimate(settings, searcher.study, plan)
        if candidates and settings.screening.score == SUPERNET:
            record_supernet_trials(settings, searcher.study, space, candidates)
        fit(settings, recipe, searcher, _scheduler(settings, stopped), say, _remaining(settings, searcher.study))
    report = write_report(settings, recipe, storage, url, say)
    if budget.ran_out:
        say(budget_text(settings, budget))
    if order:
        record_actual(settings, searcher.study, time.monotonic() - session_start, since, say)
    return report


def run_spent_text(settings: SearchSettings, storage: Any, clock: str) -> str:
    """What the run's own trainings have spent of ``--max-trial-hours``, over every session so far."""
    return (f"--max-trial-hours {settings.max_trial_hours:g}: the run's trainings have spent "
            f"{run_spent_s(settings, storage, clock) / 3600:.2f} {CLOCK_HOURS[clock]} so far")


def run_spent_s(settings: SearchSettings, storage: Any, clock: str) -> float:
    """Seconds on ``clock`` the run's own trainings have spent, every session together."""
    import optuna
    trials = optuna.load_study(study_name=settings.name, storage=storage).get_trials(deepcopy=False)
    return attrs.run_spent_seconds(trials, clock)


def budget_text(settings: SearchSettings, budget: Budget) -> str:
    """Which budget stopped the search handing out trials, and how to continue."""
    resume = f"necksearch search --resume --name {settings.name}"
    if budget.ran_out == SESSION:
        return (f"--max-hours {settings.max_hours:g}: no more trials started (the next would have ended past the "
                f"budget); continue with: {resume}")
    return (f"--max-trial-hours {settings.max_trial_hours:g}: no more trials started (the next would have taken the "
            f"run's trainings past {settings.max_trial_hours:g} {CLOCK_HOURS[budget.clock]}); continue with a "
            f"larger budget: {resume} --max-trial-hours HOURS")


def _stored_bound(settings: SearchSettings, storage: Any) -> Optional[Dict[str, Any]]:
    """The ``max_train_cost`` in seconds the search's first session measured and kept in its study (``None``: none)."""
    import optuna
    return optuna.load_study(study_name=settings.name, storage=storage).user_attrs.get(attrs.TRAIN_COST_BOUND)


def _finished_so_far(settings: SearchSettings, storage: Any):
    """(fixed points already trained, trained trials finished) at this search's fidelity, from its study."""
    import optuna
    trials = optuna.load_study(study_name=settings.name, storage=storage).get_trials(deepcopy=False)
    finished = [t for t in attrs.searched_trials(trials, settings.fidelity()) if t.state.is_finished()]
    return [t.user_attrs.get(attrs.FIXED_POINT) for t in finished], len(finished)


def _nodes() -> list:
    import ray

    from necksearch.search.cost.preflight import alive_nodes
    return alive_nodes(ray.nodes())


def _remaining(settings: SearchSettings, study: Any) -> int:
    """Trials still to train for ``--num-trials`` (said with those finished before)."""
    done = sum(t.state.is_finished() for t in attrs.searched_trials(study.get_trials(deepcopy=False), settings.fidelity()))
    return settings.num_trials - done


def fit(settings: SearchSettings, recipe: Recipe, searcher: Any, scheduler: Any, say: Callable[[str], None],
        remaining: int, show_seed: bool = False) -> None:
    """Train ``remaining`` trials that ``searcher`` hands out, as one Ray Tune run in the run directory (its progress
    lines name each trial's seed with ``show_seed``)."""
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    from necksearch.search.engine.progress import SearchProgress
    from necksearch.search.engine.trainable import train_trial
    if remaining <= 0:
        say(f"all {settings.num_trials} trials are finished; nothing to train")
        return
    say(f"{settings.num_trials - remaining} trials finished before, {remaining} to run")
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(train_trial, recipe=recipe), settings.resources.tune_resources()),
        param_space={"settings": dataclasses.asdict(settings)},
        tune_config=tune.TuneConfig(search_alg=ConcurrencyLimiter(searcher, settings.max_concurrent),
                                    scheduler=scheduler, num_samples=remaining,
                                    trial_name_creator=_trial_name, trial_dirname_creator=_trial_name),
        run_config=tune.RunConfig(name=_session_name(settings.run_dir), storage_path=str(settings.run_dir / "tune"),
                                  failure_config=tune.FailureConfig(max_failures=settings.retries),
                                  callbacks=[SearchProgress(remaining, settings.epochs, say, settings.run_dir,
                                                            show_seed)],
                                  verbose=0))
    tuner.fit()


def _trial_name(trial: Any) -> str:
    return f"trial_{trial.config['trial']['number']:04d}_{trial.trial_id}"


def _scheduler(settings: SearchSettings, stopped: set) -> Any:
    """Noise-aware ASHA over epochs on ``score`` (mAP, ties broken by training loss), recording whom it stops in
    ``stopped``; FIFO without early stopping."""
    from ray.tune.schedulers import FIFOScheduler

    from necksearch.search.cost.measured import rung_noise_for
    from necksearch.search.engine.scheduler import NoiseAwareASHA
    if settings.scheduler == "none" or settings.epochs <= settings.grace_epochs:
        return FIFOScheduler()
    return NoiseAwareASHA(settings.grace_epochs, settings.reduction_factor, settings.epochs, settings.rung_margin,
                          rung_noise_for(settings.fidelity()) or {}, stopped)


def _session_name(run_dir: Path) -> str:
    sessions = list((run_dir / "tune").glob("session-*")) if (run_dir / "tune").is_dir() else []
    return f"session-{len(sessions) + 1}"


@contextlib.contextmanager
def ray_session(resources: Resources) -> Iterator[None]:
    """Ray for the enclosed block: joined or started by :func:`start_ray` (with its preflight against the nodes),
    and shut down when the block ends only if this block started it."""
    started = start_ray(resources)
    try:
        yield
    finally:
        if started:
            import ray
            ray.shutdown()


def start_ray(resources: Resources) -> bool:
    """Join ``--address`` or start a local Ray instance, and refuse per-trial resources that no node of it has
    (``preflight``); True when this call started Ray."""
    import ray

    from necksearch.search.cost.preflight import alive_nodes, check_reachable, check_trial_fits
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no Tune tables; SearchProgress reports
    os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", str(resources.max_concurrent))
    if ray.is_initialized():
        check_trial_fits(resources.cpus_per_trial, resources.gpus_per_trial, alive_nodes(ray.nodes()))
        return False
    kwargs: Dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
    if os.environ.get(PLUGINS_VARIABLE):  # the trials' processes load the same operation plugins (on every node)
        kwargs["runtime_env"] = {"env_vars": {PLUGINS_VARIABLE: os.environ[PLUGINS_VARIABLE]}}
    try:
        if resources.address:
            check_reachable(resources.address)
            ray.init(address=resources.address, **kwargs)
        else:
            # Ray's default for a new local instance is token authentication, announced with a warning on stderr
            # each time; the instance is private to this search, so the announcement is only noise here.
            logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
            ray.init(address="local", num_cpus=os.cpu_count(), **kwargs)  # never join a `ray start` by surprise
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = f"--address {resources.address!r}: cannot reach the Ray cluster" if resources.address \
            else "cannot start a local Ray instance"
        raise NeckSearchError(f"{where}: {str(err).strip().splitlines()[-1] if str(err).strip() else err}") from None
    try:
        check_trial_fits(resources.cpus_per_trial, resources.gpus_per_trial, alive_nodes(ray.nodes()))
    except NeckSearchError:
        ray.shutdown()
        raise
    return True
