"""Trainings other runs already did, taken into a confirmation instead of trained again (``confirm --reuse``).

A campaign confirms several searches of one recipe against the same published necks, and a fidelity run trains
published necks over seeds too: retraining them for every confirmation costs an hour of CPU each time. A training
answers for another study only when it measured the same thing: the same resolved base config (the recipe kept in
the run directory: config, data root, pipelines), the same space file (by content), the same objectives, the same
fidelity and seed (the trial's ``fidelity`` attribute) and the same graph (its canonical hash, which carries the
revisions of its ops), trained to the end (COMPLETE: a failure elsewhere is not taken as this run's answer). Such a
trial is copied into the confirming study as a COMPLETE trial with the attribute ``reused_from`` (the source run
directory and trial number) beside its ``confirm`` note, so the study stays the whole record of what its
confirmation rests on, and a rerun finds it answered.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Sequence, Tuple

from necksearch.errors import NeckSearchError
from necksearch.files import file_sha256
from necksearch.search.core import study as attrs
from necksearch.search.core.settings import SearchSettings, load_run
from necksearch.train.recipe import RECIPE_FILE


def search_dirs(path: Any) -> List[Path]:
    """The search run directories ``path`` stands for: itself (a search), or each search of a fidelity run."""
    path = Path(path).expanduser().resolve()
    if (path / "search.json").is_file():
        return [path]
    searches = sorted(p.parent for p in path.glob("*/search.json"))
    if (path / "fidelity.json").is_file() and searches:
        return searches
    raise NeckSearchError(f"--reuse {path}: not a search or fidelity run directory (no search.json or fidelity.json)")


def source_trials(settings: SearchSettings, paths: Sequence[Any]) -> List[Tuple[Path, List[Any]]]:
    """Each reused search's trials, after checking that it trained ``settings``' recipe on its space."""
    run_dirs = [d for path in paths for d in search_dirs(path)]
    digest, space = settings.recipe().digest, _space_sha256(settings)
    sources = []
    for run_dir in run_dirs:
        other = load_run(run_dir, "--reuse")
        if not (run_dir / RECIPE_FILE).is_file():
            raise NeckSearchError(f"--reuse {run_dir}: it keeps no {RECIPE_FILE}, so what it trained cannot be compared")
        if other.recipe().digest != digest:
            raise NeckSearchError(f"--reuse {run_dir}: its recipe ({RECIPE_FILE}) is not {settings.name}'s: another base "
                                  "config or data, so its trainings do not measure the same thing")
        if _space_sha256(other) != space:
            raise NeckSearchError(f"--reuse {run_dir}: it searched space {other.space}, not the space of "
                                  f"{settings.name} ({settings.space})")
        if other.objectives != settings.objectives:
            raise NeckSearchError(f"--reuse {run_dir}: its objectives {','.join(other.objectives)} are not "
                                  f"{','.join(settings.objectives)}")
        sources.append((run_dir, _trials(other)))
    return sources


def _space_sha256(settings: SearchSettings) -> str:
    """The content of the search's space file (a space it names that no longer loads is refused by name)."""
    from necksearch.space import load_space
    return file_sha256(Path(load_space(settings.space).source))


def _trials(settings: SearchSettings) -> List[Any]:
    """The trials of a search found at ``settings.run_dir``; its SQLite study found beside it if the run moved."""
    from necksearch.search.core.storage import load_study, open_storage, storage_url
    url = storage_url(settings.storage, settings.run_dir)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        moved = Path(settings.runs_dir) / Path(url[len("sqlite:///"):]).name  # a fidelity run's shared study.db
        if not moved.is_file():
            raise NeckSearchError(f"--reuse {settings.run_dir}: its study ({url}) does not exist")
        url = f"sqlite:///{moved}"
    return load_study(settings.name, open_storage(url), f"--reuse {settings.run_dir}: its storage").get_trials(
        deepcopy=False)


def import_reused(study: Any, sources: Sequence[Tuple[Path, List[Any]]], candidates: Sequence[Any],
                  subs: Sequence[SearchSettings]) -> List[str]:
    """Copy into ``study`` each (candidate, seed) it lacks that a source trained to the end at that fidelity and
    seed; ``"LABEL@SEED"`` for each copied."""
    copied = []
    for sub in subs:
        answered = attrs.finished_by_hash(study.get_trials(deepcopy=False), sub.fidelity(), stops_early=False)
        for candidate in candidates:
            if candidate.graph_hash in answered:
                continue
            found = _first_complete(sources, sub.fidelity(), candidate.graph_hash)
            if found is not None:
                run_dir, trial = found
                study.add_trial(_copy(trial, candidate, sub, f"{run_dir}#{trial.number}"))
                copied.append(f"{candidate.label}@{sub.seed}")
    return copied


def _first_complete(sources: Sequence[Tuple[Path, List[Any]]], fidelity: Any, graph_hash: str) -> Any:
    for run_dir, trials in sources:
        trial = attrs.finished_by_hash(trials, fidelity, stops_early=False).get(graph_hash)
        if trial is not None and trial.state.name == "COMPLETE":
            return run_dir, trial
    return None


def _copy(trial: Any, candidate: Any, sub: SearchSettings, origin: str) -> Any:
    import optuna
    note = attrs.confirm_note(candidate.label, candidate.graph_hash, sub.seed, sub.fidelity())
    user_attrs = {**trial.user_attrs, attrs.FIXED_POINT: candidate.fixed_point, attrs.CONFIRM: note,
                  attrs.REUSED_FROM: origin}
    return optuna.trial.create_trial(state=optuna.trial.TrialState.COMPLETE, values=trial.values, params=trial.params,
                                     distributions=trial.distributions, user_attrs=user_attrs,
                                     intermediate_values=trial.intermediate_values)
