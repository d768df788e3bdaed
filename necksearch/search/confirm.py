"""``necksearch confirm``: retrain a search's best graphs beside the published necks over several seeds, and say
which of them is better beyond the seed noise.

A search ranks each graph by one training at one seed, and the seed moves a graph's mAP by about as much as the
published necks differ (``benchmarks/results/rank_fidelity.md``): its single-seed winner may be luck. Confirmation
trains the search's K best distinct sampled graphs (or the trials ``--trials`` names) and the published necks it is
judged against at S seeds (the search's seed and the S − 1 following ones, or from ``--first-seed``), at the search's
fidelity or a higher one, with no early stopping, as trials of the search's own study: one Ray Tune run for all the
seeds (and one for the held-out seeds) through the search's trainable and one searcher a seed, chained so that no seed
waits for another's slowest training; each trial has the user attribute ``confirm`` (label, hash, seed, fidelity) and
published ones ``fixed_point``, so optuna-dashboard shows them beside the search. A graph already trained at a
(fidelity, seed) in the study — the search's own trial at its seed, or an earlier confirmation's — is reused, not
trained again, and so is one that another search or fidelity run of the same recipe trained to the end (``--reuse``,
``search/reuse.py``). Killed, the same command continues: finished trials stay, interrupted ones resume from their last
epoch checkpoint.

Per graph it reports the mean ± sample std over seeds and, for each found graph, the difference to every
published neck with a 95% Welch t interval (``statistics.welch_interval``). Welch, not a bootstrap over seeds:
with 3 seeds a graph has 10 distinct bootstrap resamples and the percentile interval is too narrow to trust; the t
interval is wide with few seeds, which is the honest answer. The verdict "beats NAME beyond noise" is given only
when the interval lies above 0. A training's score is its final bbox mAP, or with ``--average-last W`` the mean of its
last W epochs' mAP (``study.training_score``; measured, it ranked no better than the final mAP; a finished
confirmation is scored again without training anything). The confirmed best (highest mean over all seeds) becomes
``RUN_DIR/best/``; the results go to ``RUN_DIR/confirm.json``, ``confirm.md`` and ``confirm.png``.

The best of K graphs by their means over the same seeds is flattered by them (a winner's curse: the search chose it
by its mAP at the first seed, the confirmation by all S), so with ``--holdout H`` the found graph with the best mean
over all S seeds is trained again at the H seeds after them once chosen, and judged there too against the published
necks' S seeds (measured in ``benchmarks/results/search_campaign.md``: the campaign's best led MS-CA FPN by 0.011 at
128² and 0.026 at 160² over seeds 0-2, and trailed it on seeds 3-6 at both).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from necksearch.errors import NeckSearchError
from necksearch.files import write_text_atomic
from necksearch.search.core import study as attrs
from necksearch.search.engine.report import CONFIRM_RESULTS
from necksearch.search.core.settings import SearchSettings, load_run
from necksearch.train.fidelity import Fidelity


@dataclasses.dataclass(frozen=True)
class ConfirmSettings:
    """What ``necksearch confirm`` is asked: the run, how many found graphs, how many seeds, at which fidelity
    (``None``: the search's) and against which published presets (``None``: the search's fixed points)."""

    run_dir: str
    top: int = 3
    #: Found trials to confirm by number instead of the ``top`` best (a graph chosen by eye, or a second look).
    trials: Tuple[int, ...] = ()
    seeds: int = 3
    fidelity: Optional[Fidelity] = None
    against: Optional[Tuple[str, ...]] = None
    max_concurrent: Optional[int] = None
    #: Run directories (searches or fidelity runs of the same recipe) whose finished trainings answer too.
    reuse: Tuple[str, ...] = ()
    #: Fresh seeds (the ones after the S) at which the found graph with the best mean over all S is trained again
    #: once chosen: its verdict on seeds that chose nothing (0: none).
    holdout: int = 0
    #: Each training scored by the mean mAP of its last this many epochs (1: its final mAP; ``study.training_score``).
    average_last: int = 1
    #: The first of the S seeds (``None``: the search's seed): runs of other sampler seeds confirmed on one set of
    #: seeds compare seed for seed, and ``reuse`` finds their published necks' trainings.
    first_seed: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One graph to confirm: its label (preset name or ``trial-N``), the space sample that replays to it, its hash,
    and the preset it is (``None`` for a found graph)."""

    label: str
    sample: Dict[str, Any]
    graph_hash: str
    fixed_point: Optional[str]


# ---------------------------------------------------------------------- checks, before Ray starts


def confirm_fidelity(settings: SearchSettings, asked: Optional[Fidelity]) -> Fidelity:
    """The fidelity to confirm at: the search's, or ``asked`` when it is no lower in any of its parts."""
    own = settings.training_fidelity
    if asked is None:
        return own
    if own.image_size is None:
        raise NeckSearchError("--fidelity: the search trained at its config's own image size, the full fidelity; "
                              "confirm it there (leave --fidelity out)")
    lower = asked.lower_parts(own)
    if lower:
        shown = ", ".join(f"{key} {getattr(asked, key)} < {getattr(own, key)}" for key in lower)
        raise NeckSearchError(f"--fidelity is lower than the search's ({shown}): a confirmation trains at the search's "
                              "fidelity or a higher one")
    return asked


def check_counts(top: Any, seeds: Any, holdout: Any = 0, first_seed: Any = None) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
        raise NeckSearchError(f"--seeds must be at least 2 (a difference beyond noise needs two seeds a graph), "
                              f"got {seeds!r}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise NeckSearchError(f"--top must be at least 1, got {top!r}")
    if isinstance(holdout, bool) or not isinstance(holdout, int) or holdout < 0 or holdout == 1:
        raise NeckSearchError(f"--holdout must be 0 or at least 2 (fresh seeds to compare beyond noise), "
                              f"got {holdout!r}")
    if first_seed is not None and (isinstance(first_seed, bool) or not isinstance(first_seed, int) or first_seed < 0):
        raise NeckSearchError(f"--first-seed must be a seed, 0 or more, got {first_seed!r}")


def check_search_finished(settings: SearchSettings, trials: List[Any]) -> None:
    """A search with trials left running must be resumed first: confirming would hand its trials out again."""
    running = [t.number for t in attrs.searched_trials(trials, settings.fidelity()) if not t.state.is_finished()]
    if running:
        raise NeckSearchError(f"search {settings.name} left trials {', '.join(map(str, running))} unfinished: finish it "
                              f"with `necksearch search --resume --name {settings.name}` before confirming")


def found_candidates(settings: SearchSettings, trials: List[Any], space: Any, top: int,
                     numbers: Tuple[int, ...] = ()) -> List[Candidate]:
    """The search's ``top`` best COMPLETE sampled graphs at its fidelity (distinct: the search deduplicates), or the
    trials ``numbers`` when given, each hashed as the space builds it now: a graph with an op revised since its
    trial (``OpRecord.revision``) gets its new hash, so that its trial does not answer for the op's new
    computation."""
    complete = [t for t in attrs.searched_trials(trials, settings.fidelity())
                if t.state.name == "COMPLETE" and not t.user_attrs.get(attrs.FIXED_POINT)]
    complete.sort(key=lambda t: -(t.values[0]))
    if numbers:
        chosen = _numbered(settings, complete, numbers)
    elif top > len(complete):
        raise NeckSearchError(f"--top {top}: search {settings.name} has {len(complete)} distinct sampled graph(s) "
                              "trained to the end")
    else:
        chosen = complete[:top]
    return [Candidate(f"trial-{t.number}", dict(t.params), space.freeze(dict(t.params)).canonical_hash(), None)
            for t in chosen]


def _numbered(settings: SearchSettings, complete: List[Any], numbers: Tuple[int, ...]) -> List[Any]:
    """The trials ``numbers`` among the search's complete sampled ones, in the order given."""
    by_number = {t.number: t for t in complete}
    missing = [n for n in numbers if n not in by_number]
    if missing:
        raise NeckSearchError(f"--trials {','.join(map(str, missing))}: not a sampled trial of search {settings.name} "
                              f"trained to the end (those are: {', '.join(map(str, sorted(by_number))) or 'none'})")
    return [by_number[n] for n in dict.fromkeys(numbers)]


def published_candidates(settings: SearchSettings, space: Any, against: Optional[Tuple[str, ...]]) -> List[Candidate]:
    """The published necks judged against: ``against`` (``published``: the nine published necks that are points of
    the space; ``all``: every preset of the space), else the search's fixed points (``run.fixed_point_samples``
    checks each is a point of the space)."""
    from necksearch.search.engine.run import fixed_point_samples
    if against is not None:
        settings = dataclasses.replace(settings, fixed_points=tuple(against))
    samples = fixed_point_samples(settings, space)
    if not samples:
        raise NeckSearchError("confirm: no published neck to confirm against (give --against NAMES, published or all)")
    return [Candidate(name, sample, space.freeze(sample).canonical_hash(), name) for name, sample in samples.items()]


def choose(settings: SearchSettings, trials: List[Any], space: Any, confirm: ConfirmSettings) -> List[Candidate]:
    """Found graphs first, then the published ones that are not among them (each architecture once)."""
    chosen: Dict[str, Candidate] = {}
    found = found_candidates(settings, trials, space, confirm.top, confirm.trials)
    for candidate in found + published_candidates(settings, space, confirm.against):
        chosen.setdefault(candidate.graph_hash, candidate)
    return list(chosen.values())


def seed_settings(settings: SearchSettings, fidelity: Fidelity, seed: int, count: int,
                  max_concurrent: Optional[int]) -> SearchSettings:
    """The search settings the confirmation trains ``seed`` with: the queued graphs only, to the end."""
    return dataclasses.replace(settings, seed=seed, scheduler="none", sampler="random",
                               num_trials=count, fixed_points=(), screen=None, max_hours=None, max_trial_hours=None,
                               max_concurrent=max_concurrent or settings.max_concurrent, **fidelity.as_dict())


# ---------------------------------------------------------------------- queueing and training


def queue_seed(study: Any, sub: SearchSettings, candidates: List[Candidate]) -> int:
    """Enqueue the candidates that ``sub``'s (fidelity, seed) still lacks; the number of trainings it needs
    (queued now, queued by a killed run, or interrupted and resumed by the searcher)."""
    trials = study.get_trials(deepcopy=False)
    answered = attrs.finished_by_hash(trials, sub.fidelity(), stops_early=False)
    running = {t.user_attrs[attrs.GRAPH_HASH] for t in attrs.trained_trials(trials, sub.fidelity())
               if not t.state.is_finished()}
    queued = {t.user_attrs[attrs.CONFIRM]["hash"] for t in trials
              if t.state.name == "WAITING" and t.user_attrs.get(attrs.CONFIRM, {}).get("fidelity") == sub.fidelity()}
    needed = 0
    with attrs.quiet_optuna():
        for candidate in candidates:
            if candidate.graph_hash in answered:
                continue
            needed += 1
            if candidate.graph_hash not in running | queued:
                note = attrs.confirm_note(candidate.label, candidate.graph_hash, sub.seed, sub.fidelity())
                study.enqueue_trial(candidate.sample, user_attrs={attrs.FIXED_POINT: candidate.fixed_point,
                                                                  attrs.CONFIRM: note})
                queued.add(candidate.graph_hash)
    return needed


def train_seeds(subs: List[SearchSettings], storage: Any, candidates: List[Candidate],
                say: Callable[[str], None]) -> None:
    """Train what each of ``subs``' seeds lacks, as one Tune run (no early stopping): one searcher a seed, chained
    (``SearcherChain``), so a slot a short training frees takes the next (graph, seed) queued."""
    import optuna
    from ray.tune.schedulers import FIFOScheduler

    from necksearch.search.engine.run import fit
    from necksearch.search.engine.searcher import NeckSearcher, SearcherChain
    study = optuna.load_study(study_name=subs[0].name, storage=storage)
    needed = sum(queue_seed(study, sub, candidates) for sub in subs)
    hashes = frozenset(c.graph_hash for c in candidates)
    searchers = [NeckSearcher(sub, sub.space, storage, optuna.samplers.RandomSampler(seed=sub.seed), {},
                              queued_only=hashes) for sub in subs]
    run = dataclasses.replace(subs[0], num_trials=sum(sub.num_trials for sub in subs))
    fit(run, run.recipe(), SearcherChain(searchers), FIFOScheduler(), say, needed, show_seed=True)
    trials = study.get_trials(deepcopy=False)
    answered = {sub.seed: attrs.finished_by_hash(trials, sub.fidelity(), stops_early=False) for sub in subs}
    unfinished = [f"{c.label} at seed {sub.seed}" for sub in subs for c in candidates
                  if c.graph_hash not in answered[sub.seed]]
    if unfinished:
        raise NeckSearchError(f"interrupted: {', '.join(unfinished)} unfinished; continue with the same "
                              "`necksearch confirm` command")


def run_confirm(confirm: ConfirmSettings, write: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Check everything, train every candidate at every seed (or continue), then write the results and best/."""
    from necksearch.search.engine.run import ray_session
    from necksearch.search.core.storage import load_study, open_storage, storage_url
    from necksearch.space import load_space
    say = write or (lambda text: print(text, flush=True))
    check_counts(confirm.top, confirm.seeds, confirm.holdout, confirm.first_seed)
    settings = load_run(confirm.run_dir, "confirm")
    fidelity = confirm_fidelity(settings, confirm.fidelity)
    attrs.check_average_last(confirm.average_last, fidelity.epochs)
    if confirm.average_last > 1 and len(settings.objectives) > 1:
        raise NeckSearchError(f"--average-last {confirm.average_last}: search {settings.name} optimises "
                              f"{', '.join(settings.objectives)}, and a multi-objective study records no mAP per epoch")
    storage = open_storage(storage_url(settings.storage, settings.run_dir))
    study = load_study(settings.name, storage, f"confirm: the storage of {settings.run_dir}")
    trials = study.get_trials(deepcopy=False)
    check_search_finished(settings, trials)
    candidates = choose(settings, trials, load_space(settings.space), confirm)
    first = settings.seed if confirm.first_seed is None else confirm.first_seed
    subs = [seed_settings(settings, fidelity, first + index, len(candidates), confirm.max_concurrent)
            for index in range(confirm.seeds)]
    sources = reused_sources(settings, confirm.reuse)
    if sources is not None:
        reuse(study, sources, candidates, subs, say)
    say(f"confirm {settings.name}: {len(candidates)} graphs ({', '.join(c.label for c in candidates)}) × seeds "
        f"{', '.join(str(s.seed) for s in subs)} at {fidelity.describe()}")
    with ray_session(subs[0].resources):
        train_seeds(subs, storage, candidates, say)
        results = summarise(study.get_trials(deepcopy=False), candidates, subs, confirm.average_last)
        chosen = held_out_candidate(results, candidates) if confirm.holdout else None
        if chosen is not None:
            held = [seed_settings(settings, fidelity, seed, 1, confirm.max_concurrent)
                    for seed in held_out_seeds(first + confirm.seeds, confirm.holdout, settings.seed)]
            if sources is not None:
                reuse(study, sources, [chosen], held, say)
            say(f"held-out seeds {', '.join(str(sub.seed) for sub in held)}: {chosen.label}")
            train_seeds(held, storage, [chosen], say)
            results["holdout"] = summarise_holdout(study.get_trials(deepcopy=False), chosen, held, results,
                                                   confirm.average_last)
    write_results(settings, subs[0], study, results, say)
    return results


def held_out_seeds(after: int, count: int, search_seed: int) -> List[int]:
    """``count`` seeds from ``after`` on, skipping the search's own seed: its trial there chose the graph (with
    ``--first-seed`` the confirmation's seeds need not hold it), so it is no seed that chose nothing."""
    seeds, seed = [], after
    while len(seeds) < count:
        if seed != search_seed:
            seeds.append(seed)
        seed += 1
    return seeds


def reused_sources(settings: SearchSettings, dirs: Tuple[str, ...]) -> Optional[List[Any]]:
    """The finished trainings of the ``--reuse`` run directories (``None`` without any), read once."""
    if not dirs:
        return None
    from necksearch.search.reuse import source_trials
    return source_trials(settings, dirs)


def reuse(study: Any, sources: List[Any], candidates: List[Candidate], subs: List[SearchSettings],
          say: Callable[[str], None]) -> None:
    """Copy into ``study`` what ``sources`` trained of ``candidates`` at ``subs``' (fidelity, seed), and say what."""
    from necksearch.search.reuse import import_reused
    copied = import_reused(study, sources, candidates, subs)
    say(f"reused {len(copied)} training(s) from --reuse" + (f": {', '.join(copied)}" if copied else ""))


# ---------------------------------------------------------------------- results


def seed_values(trials: List[Any], candidates: List[Candidate], subs: List[SearchSettings],
                last: int = 1) -> Dict[str, Dict[int, Any]]:
    """label → seed → the candidate's score there (``study.training_score``; ``None``: its training failed), from
    every trial of the study."""
    table: Dict[str, Dict[int, Any]] = {c.label: {} for c in candidates}
    for sub in subs:
        answered = attrs.finished_by_hash(trials, sub.fidelity(), stops_early=False)
        for candidate in candidates:
            trial = answered.get(candidate.graph_hash)
            if trial is not None:
                table[candidate.label][sub.seed] = (attrs.training_score(trial, last) if trial.state.name == "COMPLETE"
                                                    else None)
    return table


def summarise(trials: List[Any], candidates: List[Candidate], subs: List[SearchSettings],
              last: int = 1) -> Dict[str, Any]:
    """Per graph mean ± std over seeds of the score (the mean mAP of the ``last`` epochs); each found graph against
    every published one (Welch 95% interval)."""
    from necksearch.search.rank.statistics import mean_std
    table = seed_values(trials, candidates, subs, last)
    graphs = {}
    for c in candidates:
        maps = [table[c.label][s.seed] for s in subs if table[c.label].get(s.seed) is not None]
        graphs[c.label] = {"published": c.fixed_point is not None, "hash": c.graph_hash,
                           "maps": {str(seed): value for seed, value in sorted(table[c.label].items())},
                           **mean_std(maps)}
    published = {label: g for label, g in graphs.items() if g["published"] and g["n"] >= 2}
    for label, g in graphs.items():
        if not g["published"]:
            g["against"] = _comparisons(g, published)
            g["beats"] = [name for name, cmp in g["against"].items() if cmp["low"] > 0]
    trained = {label: g for label, g in graphs.items() if g["published"] and g["n"]}
    best_published = max(trained, key=lambda label: trained[label]["mean"], default=None)
    full = [label for label, g in graphs.items() if g["n"] == len(subs)]
    best = max(full, key=lambda label: graphs[label]["mean"], default=None)
    return {"fidelity": subs[0].training_fidelity.as_dict(), "seeds": [s.seed for s in subs],
            "score": attrs.score_name(last), "interval": "Welch t, 95%", "graphs": graphs,
            "best_published": best_published, "best": best}


def held_out_candidate(results: Mapping[str, Any], candidates: List[Candidate]) -> Optional[Candidate]:
    """The found graph with the highest mean over all of the confirmation's seeds (``None`` when none has them)."""
    full = [c for c in candidates
            if c.fixed_point is None and results["graphs"][c.label]["n"] == len(results["seeds"])]
    return max(full, key=lambda c: results["graphs"][c.label]["mean"], default=None)


def summarise_holdout(trials: List[Any], chosen: Candidate, held: List[SearchSettings],
                      results: Mapping[str, Any], last: int = 1) -> Dict[str, Any]:
    """The chosen graph on the held-out seeds, against every published neck's confirmation seeds (Welch 95%).

    Choosing the best of K graphs by their means over the S seeds favours the graph those seeds happened to flatter
    (and the search chose it by its mAP at the first of them): its mean there is biased upwards, more the more
    graphs competed. Seeds that chose nothing give an unbiased estimate (the published necks were not chosen, so
    theirs are unbiased already)."""
    from necksearch.search.rank.statistics import mean_std
    by_seed = seed_values(trials, [chosen], held, last)[chosen.label]
    graph = {"graph": chosen.label, "hash": chosen.graph_hash, "seeds": [s.seed for s in held],
             "maps": {str(seed): value for seed, value in sorted(by_seed.items())},
             **mean_std([value for value in by_seed.values() if value is not None])}
    published = {label: g for label, g in results["graphs"].items() if g["published"] and g["n"] >= 2}
    graph["against"] = _comparisons(graph, published)
    graph["beats"] = [name for name, cmp in graph["against"].items() if cmp["low"] > 0]
    return graph


def _comparisons(graph: Mapping[str, Any], published: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, float]]:
    """The found graph's mean minus each published neck's, with its Welch 95% interval."""
    from necksearch.search.rank.statistics import welch_interval
    mine = [v for v in graph["maps"].values() if v is not None]
    if len(mine) < 2:
        return {}
    out = {}
    for name, other in published.items():
        theirs = [v for v in other["maps"].values() if v is not None]
        diff, low, high = welch_interval(theirs, mine)
        out[name] = {"diff": diff, "low": low, "high": high}
    return out


def verdict(label: str, graph: Mapping[str, Any], best_published: Optional[str]) -> str:
    """One line: whether the found graph beats the best published neck beyond noise."""
    if best_published is None or best_published not in graph.get("against", {}):
        return f"{label}: too few finished seeds (2 a side) to compare with {best_published or 'a published neck'}"
    cmp = graph["against"][best_published]
    shown = f"{cmp['diff']:+.3f} [{cmp['low']:+.3f}, {cmp['high']:+.3f}]"
    if cmp["low"] > 0:
        return f"{label} beats {best_published} beyond noise: {shown}"
    return f"{label} does not beat {best_published} beyond noise: {shown}"


def results_markdown(name: str, results: Mapping[str, Any]) -> str:
    """The per-graph table and the verdicts, as Markdown."""
    seeds = results["seeds"]
    lines = [f"Confirmation of search `{name}` at {Fidelity.of(results['fidelity']).describe()}, seeds {', '.join(map(str, seeds))}; "
             f"{attrs.recorded_score(results)}; differences to the published necks with a {results['interval']} "
             "interval.", "",
             "| graph | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± std |",
             "|---|" + "---|" * (len(seeds) + 1)]
    ordered = sorted(results["graphs"].items(), key=lambda item: -(item[1]["mean"] or -1))
    for label, g in ordered:
        cells = [_cell(g["maps"].get(str(s), "–")) for s in seeds]
        shown = "–" if g["mean"] is None else f"{g['mean']:.3f} ± {g['std']:.3f}"
        lines.append(f"| {label}{' (published)' if g['published'] else ''} | " + " | ".join(cells) + f" | {shown} |")
    lines.append("")
    for label, g in ordered:
        if not g["published"]:
            lines.append(f"- {verdict(label, g, results['best_published'])}")
    held = results.get("holdout")
    if held:
        shown = "–" if held["mean"] is None else f"{held['mean']:.3f} ± {held['std']:.3f}"
        values = " / ".join(map(_cell, held["maps"].values()))
        lines.append(f"- held out: {held['graph']}, the best found graph over seeds {', '.join(map(str, seeds))}, "
                     f"trained again on seeds {', '.join(held['maps'])} ({values}, {shown}), seeds that chose "
                     f"nothing: {verdict(held['graph'], held, results['best_published'])}")
    best = results["best"]
    lines.append(f"- confirmed best: {best or '–'}" + (f", against {confirmed_against(results)}" if best else ""))
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return "failed" if value is None else value if isinstance(value, str) else f"{value:.3f}"


def write_results(settings: SearchSettings, sub: SearchSettings, study: Any, results: Mapping[str, Any],
                  say: Callable[[str], None]) -> None:
    """``confirm.json``, ``confirm.md``, ``confirm.png`` and ``best/`` (the confirmed best) in the run directory."""
    run_dir = settings.run_dir
    write_text_atomic(run_dir / CONFIRM_RESULTS, json.dumps(results, indent=2) + "\n")
    text = results_markdown(settings.name, results)
    write_text_atomic(run_dir / "confirm.md", text)
    render_confirm(results, run_dir / "confirm.png")
    say(text)
    if results["best"] is not None:
        _export_confirmed(settings, sub, study, results)
        say(f"best/: {results['best']}, the confirmed best ({run_dir / 'best'})")
    say(f"results: {run_dir / 'confirm.md'}, {run_dir / 'confirm.png'}")


def _export_confirmed(settings: SearchSettings, sub: SearchSettings, study: Any, results: Mapping[str, Any]) -> None:
    from necksearch.search.engine.export import export_best
    best = results["graphs"][results["best"]]
    trial = attrs.finished_by_hash(study.get_trials(deepcopy=False), sub.fidelity(), stops_early=False)[best["hash"]]
    note = (f"{results['best']} (this trial trained it at seed {sub.seed}), the confirmed best over seeds "
            f"{', '.join(map(str, results['seeds']))}: {attrs.recorded_score(results)} {best['mean']:.4f} ± "
            f"{best['std']:.4f}, against {confirmed_against(results)} (confirm.md)")
    export_best(sub.recipe(), settings.name, trial, settings.run_dir / "best", note=note, name=results["best"])


def confirmed_against(results: Mapping[str, Any]) -> str:
    """The graphs the confirmed best was confirmed against, published ones first (``best/``'s note and
    ``confirm.md``): when the best is the only published neck confirmed, the found graphs."""
    others = [(label, g["published"]) for label, g in results["graphs"].items() if label != results["best"]]
    groups = [(kind, [label for label, published in others if published == (kind == "published")])
              for kind in ("published", "found")]
    return "; ".join(f"{kind} {', '.join(labels)}" for kind, labels in groups if labels) or "no other graph"


def render_confirm(results: Mapping[str, Any], path: Path) -> Path:
    """Each graph's mAP per seed (dots) and mean ± std (bar), best first; published necks in grey."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ordered = sorted(results["graphs"].items(), key=lambda item: -(item[1]["mean"] or -1))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(ordered) + 2), 4.5))
    for x, (label, g) in enumerate(ordered):
        colour = "0.55" if g["published"] else "tab:blue"
        values = [v for v in g["maps"].values() if v is not None]
        ax.scatter([x] * len(values), values, color=colour, s=14, zorder=3)
        if g["mean"] is not None:
            ax.errorbar(x, g["mean"], yerr=g["std"], fmt="_", color=colour, markersize=18, capsize=4, zorder=2)
    ax.set_xticks(range(len(ordered)), [label for label, _ in ordered], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(f"{attrs.recorded_score(results)} ({Fidelity.of(results['fidelity']).describe()})")
    ax.set_title(f"confirmation over seeds {', '.join(map(str, results['seeds']))} (grey: published)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
