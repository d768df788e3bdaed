"""Rank fidelity: how far a cheap training fidelity ranks neck graphs as a dearer one does, and its seed noise.

``necksearch fidelity`` trains a list of graphs (presets, graph files, and N seeded samples of a space) at a
*low* and a *high* fidelity (epochs, image size, data fraction), each over several seeds. Every
(fidelity, seed) pair is an ordinary search of the same space whose trials are exactly those graphs as
fixed points (no sampling, no early stopping), named ``low-seed0``, ``high-seed1``, ...: the same trainable,
study and report as ``necksearch search``, so a killed run resumes (``--resume``: each finished trial
stays), and all its studies share one storage (``RUN_DIR/study.db``) that ``necksearch dashboard
--storage`` shows. From the trials' mAP it computes

* each graph's mean ± std (over seeds) per fidelity, and the pooled seed noise (the root of the mean
  per-graph variance);
* Kendall τ and Spearman ρ between every pair of seeds at one fidelity, averaged: the noise floor of a
  ranking at that fidelity;
* τ and ρ between the low and the high fidelity's per-graph means: how far the cheap fidelity predicts the
  dear one;

and writes ``fidelity_results.json``, ``fidelity_results.md`` and ``fidelity.png`` (low against high mean
mAP, seed std as error bars) into the run directory (``fidelity_report``). τ and ρ are scipy's (``scipy.stats.kendalltau``,
tau-b, and ``spearmanr``).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from necksearch.errors import NeckSearchError
from necksearch.files import write_text_atomic
from necksearch.search.fidelity_report import write_results
from necksearch.search.core import study as attrs
from necksearch.search.core.draws import seeded_draws
from necksearch.search.core.settings import SearchSettings, check_name
from necksearch.train.fidelity import Fidelity
from necksearch.search.rank.statistics import mean_std, pooled_std, rank_correlation, seed_agreement

SETTINGS_FILE = "fidelity.json"
LEVELS = ("low", "high")


@dataclasses.dataclass
class FidelitySettings:
    """What a fidelity run trains: ``graphs`` (preset names or graph files) plus ``samples`` seeded draws of
    ``space``, at ``low`` and ``high`` (:class:`Fidelity`), over ``seeds`` seeds at
    the low fidelity and ``high_seeds`` at the high one."""

    graphs: Tuple[str, ...] = ()
    samples: int = 0
    sample_seed: int = 0
    space: str = "default"
    name: Optional[str] = None
    runs_dir: str = str(Path("runs") / "fidelity")
    config: Optional[str] = None
    data_root: Optional[str] = None
    #: Default low: the default search's fidelity; default high: the default proxy's own recipe (160², all data).
    low: Fidelity = SearchSettings().training_fidelity
    high: Fidelity = Fidelity(3, 160, 1.0)
    seeds: int = 3
    high_seeds: Optional[int] = None
    max_concurrent: int = 2
    cpus_per_trial: float = 1.0
    #: Each training scored by the mean mAP of its last this many epochs (1: its final mAP; ``study.training_score``):
    #: a choice of the command that writes the results, not of the run (``--summary`` scores a run again).
    average_last: int = 1

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / str(self.name)

    def seed_count(self, level: str) -> int:
        return self.seeds if level == "low" or self.high_seeds is None else self.high_seeds

    def checked(self) -> "FidelitySettings":
        """These settings with every option checked before Ray starts (``NeckSearchError`` names the option)."""
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 2:
            raise NeckSearchError(f"--seeds must be at least 2 (seed-to-seed agreement needs two), got {self.seeds!r}")
        if self.high_seeds is not None and (not isinstance(self.high_seeds, int) or self.high_seeds < 2):
            raise NeckSearchError(f"--high-seeds must be at least 2, got {self.high_seeds!r}")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 0:
            raise NeckSearchError(f"--samples must be a whole number of at least 0, got {self.samples!r}")
        if self.name is not None:
            check_name(self.name)
        if len(self.graphs) + self.samples < 2:
            raise NeckSearchError("a ranking needs at least 2 graphs: give presets or graph files, or --samples N")
        _check_higher(self.low, self.high)
        attrs.check_average_last(self.average_last, self.low.epochs)  # the high fidelity trains no fewer epochs
        return self


def _check_higher(low: Fidelity, high: Fidelity) -> None:
    """``high`` is no lower than ``low`` in every respect and higher in at least one."""
    if high.lower_parts(low) or high == low:
        shown = ", ".join(f"{key} {getattr(low, key)} → {getattr(high, key)}" for key in Fidelity.KEYS)
        raise NeckSearchError(f"--high must be a higher fidelity than --low in epochs, image size or data "
                              f"fraction, and lower in none ({shown})")


# ---------------------------------------------------------------------- the graphs


def graph_samples(settings: FidelitySettings, space: Any) -> Dict[str, Dict[str, Any]]:
    """Graph name → the space sample that replays to it: the given graphs, then ``samples`` seeded draws
    (distinct graphs, none equal to a given one). Unknown names, unreadable files and graphs outside the
    space are refused here, before Ray starts."""
    from necksearch.graph.presets import resolve_graph
    chosen: Dict[str, Dict[str, Any]] = {}
    hashes = set()
    for spec in settings.graphs:
        graph = resolve_graph(str(Path(spec).resolve()) if Path(spec).is_file() else spec)
        if not space.contains(graph):
            raise NeckSearchError(f"graph {spec!r} is not a point of space {space.name!r}; the fidelity run trains "
                                  f"graphs as fixed points of a search of that space")
        if graph.canonical_hash() in hashes:
            raise NeckSearchError(f"graph {spec!r} is given twice (the same architecture as an earlier one)")
        chosen[Path(spec).stem if Path(spec).is_file() else spec] = space.sample_of(graph)
        hashes.add(graph.canonical_hash())
    chosen.update(seeded_draws(space, settings.samples, settings.sample_seed, hashes))
    return chosen


# ---------------------------------------------------------------------- running


def sub_settings(settings: FidelitySettings, level: str, seed: int, count: int) -> SearchSettings:
    """The search that trains every graph once at ``level`` with ``seed``."""
    fidelity = getattr(settings, level)
    return SearchSettings(space=settings.space, name=f"{level}-seed{seed}", runs_dir=str(settings.run_dir),
                          config=settings.config, data_root=settings.data_root, num_trials=count,
                          max_concurrent=settings.max_concurrent, cpus_per_trial=settings.cpus_per_trial,
                          scheduler="none", sampler="random", seed=seed, fixed_points=(),
                          storage=str(settings.run_dir / "study.db"), **fidelity.as_dict())


def run_fidelity(settings: FidelitySettings, *, resume: bool = False,
                 write: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Train every graph at both fidelities and seeds (or continue a killed run), then write the results."""
    from necksearch.search.engine.run import prepare as prepare_search, ray_session, run_search
    from necksearch.space import load_space
    say = write or (lambda text: print(text, flush=True))
    settings = prepare(settings, resume)
    space = load_space(settings.space)
    samples = _stored_samples(settings) if resume else graph_samples(settings, space)
    # The low fidelity's seeds first: it is the search's, and its seed-to-seed agreement (the noise floor) is
    # what a run stopped early should already have.
    runs = [(level, seed) for level in LEVELS for seed in range(settings.seed_count(level))]
    for level in LEVELS:  # config, data root and fidelity checked as a search checks them, before Ray starts
        first = sub_settings(settings, level, 0, len(samples))
        prepare_search(first, resume=(first.run_dir / "search.json").is_file())
    save(settings, samples)
    say(f"fidelity {settings.name}: {len(samples)} graphs × ({settings.seed_count('low')} seeds at "
        f"{settings.low.describe()}, "
        f"{settings.seed_count('high')} at {settings.high.describe()}) in {settings.run_dir}")
    with ray_session(sub_settings(settings, "low", 0, len(samples)).resources):
        for index, (level, seed) in enumerate(runs, 1):
            sub = sub_settings(settings, level, seed, len(samples))
            say(f"[{index}/{len(runs)}] {sub.name}")
            report = run_search(sub, resume=(sub.run_dir / "search.json").is_file(), write=say, fixed_points=samples)
            check_finished(report, settings)
    results = summarise(collect(settings, list(samples)), settings)
    write_results(settings.run_dir, results, say)
    return results


def check_finished(report: Any, settings: FidelitySettings) -> None:
    """Stop the run when a sub-search ended with trials unfinished: Ray Tune answers a Ctrl-C by ending its run
    gracefully, and the next sub-search must not start as if nothing had happened."""
    running = [row["number"] for row in report.rows if row["state"] == "RUNNING"]
    if running:
        raise NeckSearchError(f"interrupted: {report.run_dir.name} left trials {', '.join(map(str, running))} "
                              f"unfinished; continue with: necksearch fidelity --resume --name {settings.name}")


def summarise_run(run_dir: Path, write: Optional[Callable[[str], None]] = None,
                  average_last: int = 1) -> Dict[str, Any]:
    """The results of the fidelity run in ``run_dir`` from the searches that have finished (nothing trained), each
    training scored by its last ``average_last`` epochs' mean mAP."""
    settings = dataclasses.replace(load(Path(run_dir).expanduser().resolve()), average_last=average_last).checked()
    settings.runs_dir = str(Path(run_dir).expanduser().resolve().parent)
    results = summarise(collect(settings, list(_stored_samples(settings))), settings)
    write_results(settings.run_dir, results, write or (lambda text: print(text, flush=True)))
    return results


def prepare(settings: FidelitySettings, resume: bool) -> FidelitySettings:
    """Checked settings with absolute paths; the run directory new (or, with ``resume``, one to continue)."""
    if settings.name is None:
        import time
        settings.name = f"fidelity-{time.strftime('%Y%m%d-%H%M%S')}"
    SearchSettings(name=settings.name).checked()  # the same rule for names as a search's
    settings.runs_dir = str(Path(settings.runs_dir).expanduser().resolve())
    exists = (settings.run_dir / SETTINGS_FILE).is_file()
    if exists and not resume:
        raise NeckSearchError(f"{settings.run_dir} already holds a fidelity run: continue it with --resume, "
                              "or choose another --name")
    if resume:
        if not exists:
            raise NeckSearchError(f"--resume: {settings.run_dir} holds no fidelity run to continue")
        settings = dataclasses.replace(load(settings.run_dir), average_last=settings.average_last)
    return settings.checked()


def save(settings: FidelitySettings, samples: Mapping[str, Any]) -> None:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    stored = {key: value for key, value in dataclasses.asdict(settings).items() if key != "average_last"}
    record = {"settings": stored, "samples": dict(samples)}
    write_text_atomic(settings.run_dir / SETTINGS_FILE, json.dumps(record, indent=2) + "\n")


def load(run_dir: Path) -> FidelitySettings:
    path = Path(run_dir) / SETTINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["settings"]
        data.pop("average_last", None)  # the results' choice, not the run's (a run saved by c1360c5 stored it)
        settings = FidelitySettings(**{**data, "low": Fidelity.of(data["low"]), "high": Fidelity.of(data["high"])})
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise NeckSearchError(f"{path} is not a readable fidelity settings file: {err}") from None
    settings.graphs = tuple(settings.graphs)
    return settings


def _stored_samples(settings: FidelitySettings) -> Dict[str, Dict[str, Any]]:
    return json.loads((settings.run_dir / SETTINGS_FILE).read_text(encoding="utf-8"))["samples"]


def trained_table(run_dir: Path
                  ) -> Tuple[FidelitySettings, Any, Dict[str, Dict[str, Any]], Dict[str, Dict[int, float]]]:
    """(settings, space, name → sample, name → seed → final mAP at the low fidelity) of a fidelity run, for the
    graphs trained there at least once: what cheap rankers are judged against (the studies read once)."""
    from necksearch.space import load_space
    fidelity = load(run_dir)
    samples = _stored_samples(fidelity)
    low = {name: by_level["low"] for name, by_level in collect(fidelity, list(samples)).items() if by_level["low"]}
    return fidelity, load_space(fidelity.space), {n: samples[n] for n in samples if n in low}, low


def trained_graphs(run_dir: Path) -> Tuple[FidelitySettings, Any, Dict[str, Dict[str, Any]], Dict[str, float]]:
    """:func:`trained_table` with each graph's mean final mAP over its seeds in place of its per-seed mAPs."""
    fidelity, space, samples, low = trained_table(run_dir)
    return fidelity, space, samples, {name: sum(maps.values()) / len(maps) for name, maps in low.items()}


# ---------------------------------------------------------------------- results


def collect(settings: FidelitySettings, names: Sequence[str]) -> Dict[str, Dict[str, Dict[int, float]]]:
    """graph → level → seed → the score of its COMPLETE trial (its final mAP, or the mean of its last
    ``settings.average_last`` epochs'), read from the studies (the durable record: a search stopped half-way counts
    with the trials it finished)."""
    import optuna
    from optuna.trial import TrialState

    from necksearch.search.core.storage import open_storage, storage_url
    storage = open_storage(storage_url(str(settings.run_dir / "study.db"), settings.run_dir))
    studies = {summary.study_name for summary in optuna.get_all_study_summaries(storage)}
    table: Dict[str, Dict[str, Dict[int, float]]] = {name: {level: {} for level in LEVELS} for name in names}
    for level in LEVELS:
        for seed in range(settings.seed_count(level)):
            if f"{level}-seed{seed}" not in studies:
                continue
            for trial in optuna.load_study(study_name=f"{level}-seed{seed}", storage=storage).get_trials(deepcopy=False):
                name = trial.user_attrs.get(attrs.FIXED_POINT)
                if trial.state == TrialState.COMPLETE and name in table and attrs.DUPLICATE_OF not in trial.user_attrs:
                    table[name][level][seed] = attrs.training_score(trial, settings.average_last)
    return table


def summarise(table: Mapping[str, Mapping[str, Mapping[int, float]]], settings: FidelitySettings) -> Dict[str, Any]:
    """Per-graph mean ± std, pooled seed noise, seed-to-seed and low-to-high τ / ρ."""
    graphs = {name: {level: mean_std(list(by_seed[level].values())) for level in LEVELS}
              for name, by_seed in table.items()}
    agreement = {level: seed_agreement({name: by_seed[level] for name, by_seed in table.items()})
                 for level in LEVELS}
    noise = {level: pooled_std([list(by_seed[level].values()) for by_seed in table.values()]) for level in LEVELS}
    both = [name for name, stats in graphs.items() if all(stats[level]["n"] for level in LEVELS)]
    low_high = rank_correlation([graphs[n]["low"]["mean"] for n in both], [graphs[n]["high"]["mean"] for n in both])
    results = {"fidelities": {"low": settings.low.as_dict(), "high": settings.high.as_dict()},
               "score": attrs.score_name(settings.average_last), "config": settings.config,
               "space": settings.space, "seeds": {level: settings.seed_count(level) for level in LEVELS},
               "graphs": graphs, "seed_noise": noise, "seed_to_seed": agreement,
               "low_to_high": {**low_high, "graphs": len(both)}, "raw": table}
    # rank_fidelity.json's measurements are of the final mAP, the score a search ranks by
    results["measurements"] = measurement_entries(results) if settings.average_last == 1 else []
    return results


def measurement_entries(results: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The entries of ``necksearch/search/cost/rank_fidelity.json`` this run measured, one per fidelity (what a
    search at that recipe and fidelity reports beside its leaderboard: ``cost.measured``)."""
    from necksearch.train.configs import resolve_config_path
    config = resolve_config_path(results["config"]).name
    high = Fidelity.of(results["fidelities"]["high"]).describe()
    entries = []
    for level in LEVELS:
        noise, tau = results["seed_noise"][level], results["seed_to_seed"][level]["tau"]
        if noise is None or tau is None:
            continue
        low_high = results["low_to_high"]["tau"] if level == "low" else None
        seeds = max(stats[level]["n"] for stats in results["graphs"].values())  # trained, not asked for
        entries.append({"config": config, **results["fidelities"][level], "seed_noise": round(noise, 4),
                        "seeds": seeds, "seed_tau": round(tau, 3),
                        "low_high_tau": None if low_high is None else round(low_high, 3),
                        "high": None if low_high is None else high, "graphs": len(results["graphs"]),
                        "low_high_graphs": results["low_to_high"]["graphs"] if low_high is not None else 0,
                        "source": "benchmarks/results/rank_fidelity.md"})
    return entries
