"""necksearch.search.reuse: another run's finished trainings answer a confirmation only when they measured the
same thing (recipe, space, fidelity, seed, graph), and are copied into the confirming study with their origin."""
from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from necksearch.errors import NeckSearchError
from necksearch.search.core import study as attrs
from necksearch.search.confirm import Candidate, confirm_fidelity, queue_seed, seed_settings
from necksearch.search.core.study import REUSED_FROM
from necksearch.search.reuse import import_reused, search_dirs, source_trials
from necksearch.search.core.settings import SearchSettings
from necksearch.train.recipe import Recipe
from tests.search.helpers import cli_error, stored_search_run, study_with

SEARCH = SearchSettings(name="s", epochs=3, image_size=128, data_fraction=1.0, seed=0)
CANDIDATES = [Candidate("trial-4", {}, "found", None), Candidate("fpn", {}, "fpnhash", "fpn")]
DISTRIBUTION = {"x": optuna.distributions.CategoricalDistribution(["a", "b"])}


def _trial(fidelity, graph_hash, value, state=optuna.trial.TrialState.COMPLETE):
    return optuna.trial.create_trial(state=state, value=value if state == optuna.trial.TrialState.COMPLETE else None,
                                     params={"x": "a"}, distributions=DISTRIBUTION,
                                     user_attrs={attrs.GRAPH_HASH: graph_hash, attrs.FIDELITY: fidelity,
                                                 attrs.CPU_SECONDS: 100.0})


def _subs(count=2):
    return [seed_settings(SEARCH, confirm_fidelity(SEARCH, None), i, count, None) for i in range(count)]


def test_a_finished_training_of_the_same_fidelity_and_seed_is_copied_with_its_origin():
    sub0, sub1 = _subs()
    source = study_with(_trial(sub0.fidelity(), "fpnhash", 0.25), _trial(sub1.fidelity(), "fpnhash", 0.27),
                    _trial(sub1.fidelity(), "found", None, state=optuna.trial.TrialState.FAIL),
                    _trial(dict(sub1.fidelity(), image_size=160), "found", 0.40)).get_trials()
    study = study_with(_trial(sub0.fidelity(), "found", 0.31))
    copied = import_reused(study, [("/runs/other", source)], CANDIDATES, [sub0, sub1])
    assert copied == ["fpn@0", "fpn@1"]  # found@1: failed there, and trained at another image size
    reused = [t for t in study.get_trials() if REUSED_FROM in t.user_attrs]
    assert [t.user_attrs[REUSED_FROM] for t in reused] == ["/runs/other#0", "/runs/other#1"]
    assert [t.value for t in reused] == [0.25, 0.27] and all(t.state.name == "COMPLETE" for t in reused)
    assert reused[1].user_attrs[attrs.CONFIRM] == {"label": "fpn", "hash": "fpnhash", "seed": 1,
                                                   "fidelity": sub1.fidelity()}
    assert reused[1].user_attrs[attrs.FIXED_POINT] == "fpn" and reused[1].user_attrs[attrs.CPU_SECONDS] == 100.0
    assert queue_seed(study, sub0, CANDIDATES) == 0 and queue_seed(study, sub1, CANDIDATES) == 1  # found@1 trains
    assert import_reused(study, [("/runs/other", source)], CANDIDATES, [sub0, sub1]) == []  # a rerun copies nothing


def _stored_search(tmp_path, name, base="x = 1", space="default", trials=(), **options):
    from necksearch.space import load_space
    space = str(Path(load_space(space).source).resolve())  # stored absolute, as a search stores it
    settings = SearchSettings(name=name, runs_dir=str(tmp_path), space=space, **options).checked()
    settings.save()
    Recipe(base=base, source="proxy.py").save(settings.run_dir)
    storage = settings.storage or str(settings.run_dir / "study.db")
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{storage}", directions=settings.study_directions)
    for trial in trials:
        study.add_trial(trial)
    return settings


def test_only_runs_of_the_same_recipe_and_space_are_sources(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    mine = _stored_search(tmp_path, "mine")
    twin = _stored_search(tmp_path, "twin", trials=[_trial(mine.fidelity(), "fpnhash", 0.26)])
    [(run_dir, trials)] = source_trials(mine, [str(twin.run_dir)])
    assert run_dir == twin.run_dir and [t.value for t in trials] == [0.26]
    other_data = _stored_search(tmp_path, "other-data", base="x = 2")
    with pytest.raises(NeckSearchError, match="other-data: its recipe .* is not mine's"):
        source_trials(mine, [str(other_data.run_dir)])
    other_space = _stored_search(tmp_path, "other-space", space="fpt")
    with pytest.raises(NeckSearchError, match="other-space: it searched space .*fpt.yaml, not the space of mine"):
        source_trials(mine, [str(other_space.run_dir)])
    other_goal = _stored_search(tmp_path, "other-goal", objectives=("map", "params"))
    with pytest.raises(NeckSearchError, match="other-goal: its objectives map,params are not map"):
        source_trials(mine, [str(other_goal.run_dir)])
    (other_goal.run_dir / "recipe.py").unlink()
    with pytest.raises(NeckSearchError, match="other-goal: it keeps no recipe.py"):
        source_trials(mine, [str(other_goal.run_dir)])


def test_a_moved_fidelity_run_s_shared_study_is_found_beside_its_searches(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    mine = _stored_search(tmp_path, "mine")
    old = tmp_path / "old" / "fid"
    sub = _stored_search(old, "low-seed0", storage=str(old / "study.db"), trials=[_trial(mine.fidelity(), "h", 0.2)])
    (old / "fidelity.json").write_text("{}")
    (tmp_path / "old").rename(tmp_path / "new")
    [(run_dir, trials)] = source_trials(mine, [str(tmp_path / "new" / "fid")])
    assert run_dir == tmp_path / "new" / "fid" / "low-seed0" and [t.value for t in trials] == [0.2]
    assert not old.exists() and sub.name == "low-seed0"


def test_a_fidelity_run_stands_for_its_searches_and_anything_else_is_refused(tmp_path):
    fidelity_run = tmp_path / "fid"
    for name in ("low-seed0", "high-seed0"):
        _stored_search(fidelity_run, name)
    (fidelity_run / "fidelity.json").write_text(json.dumps({}))
    assert [p.name for p in search_dirs(fidelity_run)] == ["high-seed0", "low-seed0"]
    with pytest.raises(NeckSearchError, match="not a search or fidelity run directory"):
        search_dirs(tmp_path / "nothing")


@pytest.mark.usefixtures("no_ray")
def test_a_reuse_directory_that_is_no_run_is_refused_before_ray(tmp_path, capsys):
    run_dir = stored_search_run(tmp_path, 0.3)
    assert "--reuse" in cli_error(capsys, "confirm", run_dir, "--top", "1", "--reuse", tmp_path / "nothing")
