"""``NeckSearcher`` driven directly (no Ray cluster): fixed points first, honest trial states, deduplication,
resume from the study, and constraints."""
import hashlib
import math
import warnings

import optuna
import pytest
from ray.tune.search import Searcher

from necksearch.graph import NeckGraph
from necksearch.graph.presets import load_preset
from necksearch.search.core.study import quiet_optuna
from necksearch.search.engine import searcher as searcher_module
from necksearch.search.engine.searcher import NeckSearcher
from necksearch.search.core.settings import SearchSettings
from necksearch.search.core.storage import open_storage, storage_url
from necksearch.search.engine.trainable import record_failure, trial_dir
from necksearch.space import load_space
from tests.search.helpers import optuna_info_messages

optuna.logging.set_verbosity(optuna.logging.WARNING)
States = optuna.trial.TrialState

FPN_PARAMS = 3344384
PAFPN_PARAMS = 6884864

#: Only the bottom-up step per level is searched: FPN (none everywhere), PAFPN (everywhere) and six between.
TINY_SPACE = """
name: tiny
templates: [pyramid]
per_level: {{bu: true}}
parameters:
  channels: 256
  bu/op: [none, strided_conv_sum]
constraints: {{max_neck_params: {bound}, max_neck_flops: null}}
presets: [fpn, pafpn]
fixed_points: [fpn, pafpn]
"""


@pytest.fixture(scope="module")
def default_space():
    return load_space("default")


@pytest.fixture(scope="module")
def fixed(default_space):
    return {name: default_space.sample_of(load_preset(name)) for name in ("fpn", "pafpn")}


@pytest.fixture(scope="module")
def hashes():
    return {name: load_preset(name).canonical_hash() for name in ("fpn", "pafpn")}


def make_settings(tmp_path, **kwargs):
    return SearchSettings(**dict(dict(name="s", runs_dir=str(tmp_path), epochs=3), **kwargs)).checked()


def make_searcher(settings, fixed, storage=None, space="default", stopped=None):
    return NeckSearcher(settings, space, storage if storage is not None else optuna.storages.InMemoryStorage(),
                        optuna.samplers.RandomSampler(seed=0), fixed, stopped)


def frozen(searcher, number):
    return searcher.study.trials[number]


# ---------------------------------------------------------------------------------------------- fixed points

def test_fixed_points_come_first_in_order_with_their_attributes(tmp_path, fixed, hashes):
    settings = make_settings(tmp_path)
    searcher = make_searcher(settings, fixed)
    first, second = searcher.suggest("t0"), searcher.suggest("t1")
    assert [first["trial"]["number"], second["trial"]["number"]] == [0, 1]
    assert [first["trial"]["graph"]["name"], second["trial"]["graph"]["name"]] == ["fpn", "pafpn"]
    assert (first["trial"]["params"], second["trial"]["params"]) == (FPN_PARAMS, PAFPN_PARAMS)
    for config, name in ((first, "fpn"), (second, "pafpn")):
        attrs = frozen(searcher, config["trial"]["number"]).user_attrs
        assert attrs["fixed_point"] == name and attrs["graph_hash"] == hashes[name]
        assert attrs["params"] == config["trial"]["params"] and attrs["flops"] == config["trial"]["flops"] > 0
        assert attrs["fidelity"] == settings.fidelity() and attrs["epochs_reached"] == 0
        assert NeckGraph.from_yaml(attrs["graph_yaml"], source="t").canonical_hash() == hashes[name]
        assert NeckGraph.from_dict(config["trial"]["graph"], source="t").canonical_hash() == hashes[name]
        assert attrs["summary"]
    third = searcher.suggest("t2")
    assert third["trial"]["number"] == 2 and third["trial"]["graph"]["name"] == "trial-2"
    assert frozen(searcher, 2).user_attrs.get("fixed_point") is None
    assert [t.state for t in searcher.study.trials] == [States.RUNNING] * 3


# ---------------------------------------------------------------------------------------------- outcomes

def test_a_full_result_is_complete_with_its_curve(tmp_path, fixed):
    searcher = make_searcher(make_settings(tmp_path), fixed)
    searcher.suggest("t0")
    searcher.on_trial_result("t0", {"epoch": 1, "map": 0.1, "loss": 2.0})
    searcher.on_trial_result("t0", {"epoch": 2, "map": 0.2, "loss": 1.5})
    searcher.on_trial_complete("t0", {"epoch": 3, "map": 0.3, "loss": 1.0})
    trial = frozen(searcher, 0)
    assert trial.state == States.COMPLETE and trial.value == pytest.approx(0.3)
    assert trial.intermediate_values == pytest.approx({1: 0.1, 2: 0.2, 3: 0.3})
    assert trial.user_attrs["epochs_reached"] == 3
    assert "fail_reason" not in trial.user_attrs and "pruned_reason" not in trial.user_attrs
    searcher.on_trial_complete("t0", {"epoch": 3, "map": 0.9})  # told once: a second call changes nothing
    assert frozen(searcher, 0).value == pytest.approx(0.3)


def test_a_trial_stopped_early_is_pruned_with_the_epochs_it_reached(tmp_path, fixed):
    searcher = make_searcher(make_settings(tmp_path), fixed, stopped={"t0"})  # the scheduler stopped it
    searcher.suggest("t0")
    searcher.on_trial_result("t0", {"epoch": 1, "map": 0.05})
    searcher.on_trial_complete("t0", {"epoch": 1, "map": 0.05})
    trial = frozen(searcher, 0)
    assert trial.state == States.PRUNED
    assert trial.user_attrs["epochs_reached"] == 1
    assert "epoch 1 of 3" in trial.user_attrs["pruned_reason"]
    assert trial.intermediate_values == pytest.approx({1: 0.05})


def test_a_trial_ended_early_without_the_scheduler_stays_running_for_resume(tmp_path, fixed):
    searcher = make_searcher(make_settings(tmp_path), fixed)
    searcher.suggest("t0")
    searcher.on_trial_result("t0", {"epoch": 1, "map": 0.05})
    searcher.on_trial_complete("t0", {"epoch": 1, "map": 0.05})  # e.g. Ctrl-C: Tune stops every trial
    trial = frozen(searcher, 0)
    assert trial.state == States.RUNNING and trial.user_attrs["epochs_reached"] == 1


def test_an_error_is_fail_with_the_reason_its_process_wrote(tmp_path, fixed):
    settings = make_settings(tmp_path)
    searcher = make_searcher(settings, fixed)
    number = searcher.suggest("t0")["trial"]["number"]
    work_dir = trial_dir(settings.run_dir, number)
    work_dir.mkdir(parents=True)
    try:
        raise RuntimeError("while loading\nCUDA out of memory")
    except RuntimeError as err:
        record_failure(work_dir, err)
    searcher.on_trial_complete("t0", error=True)
    trial = frozen(searcher, number)
    assert trial.state == States.FAIL and trial.values is None
    assert trial.user_attrs["fail_reason"] == "RuntimeError: CUDA out of memory"


def test_an_error_without_failure_file_says_the_process_died(tmp_path, fixed):
    searcher = make_searcher(make_settings(tmp_path), fixed)
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", error=True)
    trial = frozen(searcher, 0)
    assert trial.state == States.FAIL
    assert "died without a Python error" in trial.user_attrs["fail_reason"]


def test_an_error_keeps_the_epochs_reached_before_it(tmp_path, fixed):
    searcher = make_searcher(make_settings(tmp_path), fixed)
    searcher.suggest("t0")
    searcher.on_trial_result("t0", {"epoch": 1, "map": 0.1})
    searcher.on_trial_result("t0", {"epoch": 2, "map": 0.2})
    searcher.on_trial_complete("t0", error=True)
    trial = frozen(searcher, 0)
    assert trial.state == States.FAIL
    assert trial.user_attrs["epochs_reached"] == 2


@pytest.mark.parametrize("result", [
    {"epoch": 3, "map": math.nan},
    {"epoch": 3, "map": math.inf},
    {"epoch": 3},
    {"epoch": 3, "map": None},
])
def test_a_non_finite_objective_is_fail(tmp_path, fixed, result):
    searcher = make_searcher(make_settings(tmp_path), fixed)
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", result)
    trial = frozen(searcher, 0)
    assert trial.state == States.FAIL and trial.values is None
    assert "map" in trial.user_attrs["fail_reason"] and "finite" in trial.user_attrs["fail_reason"]
    assert trial.intermediate_values == {}


def test_multi_objective_complete_tells_every_objective(tmp_path, fixed):
    searcher = make_searcher(make_settings(tmp_path, objectives="map,params"), fixed)
    assert searcher.study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    config = searcher.suggest("t0")
    params = config["trial"]["params"]
    searcher.on_trial_result("t0", {"epoch": 1, "map": 0.1, "params": params})
    searcher.on_trial_complete("t0", {"epoch": 3, "map": 0.3, "params": params})
    trial = frozen(searcher, 0)
    assert trial.state == States.COMPLETE
    assert trial.values == pytest.approx([0.3, FPN_PARAMS])
    assert trial.user_attrs["epochs_reached"] == 3
    # a second trial missing one objective fails, naming it
    searcher.suggest("t1")
    searcher.on_trial_complete("t1", {"epoch": 3, "map": 0.3})
    assert frozen(searcher, 1).state == States.FAIL and "params" in frozen(searcher, 1).user_attrs["fail_reason"]


# ---------------------------------------------------------------------------------------------- dedup

def test_a_graph_already_evaluated_is_answered_from_its_trial(tmp_path, fixed, hashes):
    searcher = make_searcher(make_settings(tmp_path), fixed)
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", {"epoch": 3, "map": 0.3})
    searcher.study.enqueue_trial(fixed["fpn"])  # the sampler draws FPN again (after the queued PAFPN)
    assert searcher.suggest("t1")["trial"]["graph"]["name"] == "pafpn"
    config = searcher.suggest("t2")
    duplicate = frozen(searcher, 2)
    assert duplicate.user_attrs["duplicate_of"] == 0 and duplicate.user_attrs["graph_hash"] == hashes["fpn"]
    assert duplicate.state == States.COMPLETE and duplicate.value == pytest.approx(0.3)
    assert config["trial"]["number"] == 3
    assert NeckGraph.from_dict(config["trial"]["graph"], source="t").canonical_hash() != hashes["fpn"]


def test_a_duplicate_of_a_failed_graph_is_failed_without_training(tmp_path, fixed):
    searcher = make_searcher(make_settings(tmp_path), fixed)
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", error=True)
    searcher.study.enqueue_trial(fixed["fpn"])
    searcher.suggest("t1")
    config = searcher.suggest("t2")
    assert frozen(searcher, 2).user_attrs["duplicate_of"] == 0 and frozen(searcher, 2).state == States.FAIL
    assert config["trial"]["number"] == 3


def test_a_duplicate_of_a_running_trial_is_pruned(tmp_path, fixed, hashes):
    searcher = make_searcher(make_settings(tmp_path), fixed)
    searcher.suggest("t0")  # FPN, still running
    searcher.study.enqueue_trial(fixed["fpn"])
    searcher.suggest("t1")
    config = searcher.suggest("t2")
    duplicate = frozen(searcher, 2)
    assert duplicate.state == States.PRUNED and duplicate.user_attrs["duplicate_of"] == 0
    assert "trial 0" in duplicate.user_attrs["pruned_reason"]
    assert config["trial"]["number"] == 3
    assert frozen(searcher, 0).state == States.RUNNING


# ---------------------------------------------------------------------------------------------- resume

def test_resume_hands_out_the_interrupted_trial_first_and_never_reruns_finished_ones(tmp_path, fixed, hashes):
    settings = make_settings(tmp_path)
    url = storage_url(None, settings.run_dir)
    first = make_searcher(settings, fixed, open_storage(url))
    first.suggest("a0")
    first.on_trial_result("a0", {"epoch": 1, "map": 0.1, "cpu_s": 10.0})
    first.on_trial_complete("a0", {"epoch": 3, "map": 0.3, "cpu_s": 30.0})
    first.suggest("a1")  # PAFPN
    first.on_trial_result("a1", {"epoch": 1, "map": 0.2})  # ... and the search is killed here
    del first

    with optuna_info_messages() as messages:
        again = make_searcher(make_settings(tmp_path), fixed, open_storage(url))
    assert not [m for m in messages if "existing study" in m]
    config = again.suggest("b0")
    assert config["trial"]["number"] == 1 and config["trial"]["graph"]["name"] == "pafpn"
    assert config["trial"]["params"] == PAFPN_PARAMS
    assert len(again.study.trials) == 2  # the same Optuna trial, not a new one
    with warnings.catch_warnings():  # its first result after a resume repeats the checkpoint's epoch: not told twice
        warnings.simplefilter("error")
        again.on_trial_result("b0", {"epoch": 1, "map": 0.2})
    again.on_trial_result("b0", {"epoch": 2, "map": 0.25})
    again.on_trial_complete("b0", {"epoch": 3, "map": 0.35})
    assert frozen(again, 0).user_attrs["cpu_seconds"] == 30.0  # what the trial cost, whatever else ran beside it
    resumed = frozen(again, 1)
    assert resumed.state == States.COMPLETE and resumed.value == pytest.approx(0.35)
    assert resumed.intermediate_values == pytest.approx({1: 0.2, 2: 0.25, 3: 0.35})
    following = again.suggest("b1")
    assert following["trial"]["number"] >= 2
    assert NeckGraph.from_dict(following["trial"]["graph"], source="t").canonical_hash() not in hashes.values()
    assert sum(t.user_attrs.get("fixed_point") == "fpn" for t in again.study.trials) == 1
    assert [t.state for t in again.study.trials[:2]] == [States.COMPLETE, States.COMPLETE]


def test_a_trial_resumed_after_an_op_of_its_graph_was_revised_fails_instead_of_continuing(tmp_path, fixed):
    """Its checkpoint trained the earlier computation (``OpRecord.revision``): it ends FAIL with the reason, and the
    searcher hands out the next trial."""
    storage = optuna.storages.InMemoryStorage()
    first = make_searcher(make_settings(tmp_path), fixed, storage)
    first.suggest("a0")  # fpn, left RUNNING; then an op revision changes what its graph hashes to
    first.study._storage.set_trial_user_attr(frozen(first, 0)._trial_id, "graph_hash", "0" * 64)
    again = make_searcher(make_settings(tmp_path), fixed, storage)
    config = again.suggest("b0")
    assert config["trial"]["number"] == 1
    revised = frozen(again, 0)
    assert revised.state == States.FAIL and revised.user_attrs["fail_reason"].startswith(
        "an operation of its graph was revised since it began (hash 000000000000 is now ")


def test_a_handed_out_trial_has_its_graph_drawn_as_an_artifact(tmp_path, fixed):
    from optuna.artifacts import get_all_artifact_meta
    settings = make_settings(tmp_path)
    searcher = make_searcher(settings, fixed)
    searcher.suggest("t0")
    assert (settings.run_dir / "graphs" / "trial_0000.png").stat().st_size > 1000
    [meta] = get_all_artifact_meta(frozen(searcher, 0), storage=searcher.study._storage)
    assert meta.mimetype == "image/png" and meta.filename == "trial_0000.png"
    assert any((settings.run_dir / "artifacts").iterdir())


def test_resume_hands_out_a_trial_killed_while_it_was_being_drawn(tmp_path, fixed):
    storage = optuna.storages.InMemoryStorage()
    first = make_searcher(make_settings(tmp_path), fixed, storage)
    half_drawn = first.study.ask()  # the search died after asking, before any attribute was written
    half_drawn.suggest_categorical("template", ["pyramid", "fpt"])
    again = make_searcher(make_settings(tmp_path), fixed, storage)
    config = again.suggest("b0")
    assert config["trial"]["number"] == half_drawn.number
    assert frozen(again, half_drawn.number).user_attrs["flops"] == config["trial"]["flops"] > 0


def test_resume_ignores_trials_at_another_fidelity(tmp_path, fixed):
    storage = optuna.storages.InMemoryStorage()
    first = make_searcher(make_settings(tmp_path, epochs=2), fixed, storage)
    first.suggest("a0")  # left RUNNING at 2 epochs
    again = make_searcher(make_settings(tmp_path, epochs=3), fixed, storage)
    config = again.suggest("b0")
    assert config["trial"]["number"] != 0


def test_save_and_restore_point_to_the_study(tmp_path, fixed):
    searcher = make_searcher(make_settings(tmp_path), fixed)
    searcher.save(str(tmp_path / "ckpt"))
    assert "Optuna study" in (tmp_path / "ckpt").read_text()
    with pytest.raises(RuntimeError, match="--resume"):
        searcher.restore(str(tmp_path / "ckpt"))


# ---------------------------------------------------------------------------------------------- constraints

def _tiny(tmp_path, bound):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPACE.format(bound=bound))
    space = load_space(str(path))
    return str(path), {name: space.sample_of(load_preset(name)) for name in ("fpn", "pafpn")}


def test_a_graph_over_the_bound_is_recorded_pruned_and_another_drawn(tmp_path, hashes):
    source, fixed = _tiny(tmp_path, "5.0e6")
    searcher = make_searcher(make_settings(tmp_path), fixed, space=source)
    assert searcher.suggest("t0")["trial"]["graph"]["name"] == "fpn"
    config = searcher.suggest("t1")
    pafpn = frozen(searcher, 1)
    assert pafpn.user_attrs["fixed_point"] == "pafpn" and pafpn.state == States.PRUNED and not pafpn.intermediate_values
    assert pafpn.user_attrs["constraint_violation"].startswith("max_neck_params")
    assert pafpn.user_attrs["params"] == PAFPN_PARAMS
    assert config["trial"]["number"] >= 2 and config["trial"]["params"] <= 5.0e6
    assert NeckGraph.from_dict(config["trial"]["graph"], source="t").canonical_hash() not in hashes.values()
    # every trial between was refused (constraint) or answered (duplicate of the running FPN)
    for trial in searcher.study.trials[2:config["trial"]["number"]]:
        assert "constraint_violation" in trial.user_attrs or trial.user_attrs.get("duplicate_of") == 0


def test_a_confirmation_trains_a_published_neck_over_the_bound_as_asked(tmp_path):
    """The bound refuses pafpn as a search's fixed point; confirm --against pafpn trains it (refusing it would
    queue it again on every rerun)."""
    source, fixed = _tiny(tmp_path, "4.0e6")
    settings = make_settings(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    note = {"label": "pafpn", "hash": load_preset("pafpn").canonical_hash(), "seed": 0, "fidelity": settings.fidelity()}
    study.enqueue_trial(fixed["pafpn"], user_attrs={"fixed_point": "pafpn", "confirm": note})
    confirm = NeckSearcher(settings, source, storage, optuna.samplers.RandomSampler(seed=0), {},
                           queued_only=frozenset({note["hash"]}))
    assert confirm.suggest("t0")["trial"]["graph"]["name"] == "pafpn"
    assert "constraint_violation" not in confirm.study.trials[0].user_attrs


def test_a_space_with_nothing_left_to_draw_is_finished(tmp_path, monkeypatch):
    monkeypatch.setattr(searcher_module, "MAX_DRAWS", 6)
    source, fixed = _tiny(tmp_path, "4.0e6")  # only FPN is under the bound
    searcher = make_searcher(make_settings(tmp_path), fixed, space=source)
    searcher.suggest("t0")
    assert searcher.suggest("t1") is Searcher.FINISHED
    trials = searcher.study.trials
    assert trials[1].user_attrs["fixed_point"] == "pafpn" and "constraint_violation" in trials[1].user_attrs
    assert len(trials) == 1 + 6
    assert all(t.state != States.RUNNING for t in trials[1:])


RULED_SPACE = """
name: ruled
templates: [pyramid]
per_level: {bu: true}
parameters:
  channels: 256
  bu/op: [none, strided_conv_sum]
rules:
  - if: {bu/op: [none, strided_conv_sum]}
    then: {bu/op: none}
presets: [fpn, pafpn]
fixed_points: [fpn, pafpn]
"""


def test_a_sampled_graph_that_breaks_a_rule_is_recorded_pruned_but_a_fixed_point_trains(tmp_path, monkeypatch):
    """The rule allows no bottom-up step anywhere: pafpn (strided everywhere) is a fixed point and trains as asked;
    every sampled graph is fpn's or pafpn's (answered as duplicates) or has a strided step somewhere (refused)."""
    monkeypatch.setattr(searcher_module, "MAX_DRAWS", 6)
    path = tmp_path / "ruled.yaml"
    path.write_text(RULED_SPACE)
    space = load_space(str(path))
    fixed = {name: space.sample_of(load_preset(name)) for name in ("fpn", "pafpn")}
    searcher = make_searcher(make_settings(tmp_path), fixed, space=str(path))
    assert searcher.suggest("t0")["trial"]["graph"]["name"] == "fpn"
    assert searcher.suggest("t1")["trial"]["graph"]["name"] == "pafpn"
    assert "constraint_violation" not in frozen(searcher, 1).user_attrs
    assert searcher.suggest("t2") is Searcher.FINISHED
    drawn = searcher.study.trials[2:]
    ruled = [t for t in drawn if "constraint_violation" in t.user_attrs]
    assert ruled and all(t.state == States.PRUNED and t.user_attrs["constraint_violation"].startswith("rule bu/op")
                         for t in ruled)
    assert all(t in ruled or "duplicate_of" in t.user_attrs for t in drawn)


def _refused_share(default_space, refused_state, draws=80, startup=25):
    """TPE as ``--sampler tpe`` builds it, on the default space: the share of draws after ``startup`` that its rules
    refuse, when a refusal is told with ``refused_state`` (a feasible draw gets a fixed stand-in mAP)."""
    from necksearch.search.core.settings import sampler_of
    study = optuna.create_study(direction="maximize", sampler=sampler_of(SearchSettings(sampler="tpe", seed=0)))
    refused = []
    for _ in range(draws):
        trial = study.ask()
        default_space.suggest(trial)
        refused.append(bool(default_space.check_rules(trial.params)))
        if refused[-1]:
            study.tell(trial, state=refused_state)
        else:
            digest = hashlib.sha256(repr(sorted(trial.params.items())).encode()).digest()
            study.tell(trial, digest[0] / 255)
    return sum(refused[startup:]) / (draws - startup)


def test_tpe_learns_the_rules_from_refusals_told_pruned_and_not_from_fail(default_space):
    """Why the searcher tells a refused draw PRUNED: TPE ignores FAIL trials and keeps proposing the refused region
    (benchmarks/results/tpe_refusals.md: 98% of its draws after start-up)."""
    with quiet_optuna():
        assert _refused_share(default_space, States.PRUNED) < 0.2
        assert _refused_share(default_space, States.FAIL) > 0.6


def test_a_killed_search_and_a_killed_confirmation_each_resume_only_their_own_trials(tmp_path, fixed):
    """At the search's fidelity both hold trials: a RUNNING search trial is the search's to continue, a RUNNING
    confirmation trial the confirmation's, so neither trains the other's in slots it did not count."""
    settings = make_settings(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    for user in ({"fidelity": settings.fidelity(), "graph_hash": "searched"},
                 {"fidelity": settings.fidelity(), "graph_hash": "confirming",
                  "confirm": {"label": "fpn", "hash": "confirming", "seed": 0, "fidelity": settings.fidelity()}}):
        study.add_trial(optuna.trial.create_trial(state=States.RUNNING, user_attrs=user))
    search = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=0), {})
    confirm = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=0), {},
                           queued_only=frozenset({"confirming"}))
    assert [t.user_attrs["graph_hash"] for t in search._resumable] == ["searched"]
    assert [t.user_attrs["graph_hash"] for t in confirm._resumable] == ["confirming"]


def test_a_confirmation_hands_out_only_its_own_queue_never_a_search_s_leftover_or_a_draw(tmp_path, fixed):
    settings = make_settings(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.enqueue_trial(fixed["pafpn"], user_attrs={"fixed_point": "pafpn"})  # a search's leftover fixed point
    note = {"label": "fpn", "hash": load_preset("fpn").canonical_hash(), "seed": 0, "fidelity": settings.fidelity()}
    study.enqueue_trial(fixed["fpn"], user_attrs={"fixed_point": "fpn", "confirm": note})
    other = {**note, "label": "pafpn", "hash": load_preset("pafpn").canonical_hash()}
    study.enqueue_trial(fixed["pafpn"], user_attrs={"fixed_point": "pafpn", "confirm": other})  # another choice's
    confirm = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=0), {},
                           queued_only=frozenset({note["hash"]}))
    assert confirm.suggest("t0")["trial"]["graph"]["name"] == "fpn"
    assert confirm.suggest("t1") is Searcher.FINISHED
    assert [t.state for t in confirm.study.trials] == [States.WAITING, States.RUNNING, States.WAITING]


def test_the_run_s_spend_counts_its_own_trainings_on_the_budget_s_clock_not_a_confirmation_s(tmp_path, fixed):
    """--max-trial-hours: a finished and a running search trial count (CPU-seconds on the cpu clock, wall seconds on
    the wall clock); a confirmation's training and an answered duplicate do not."""
    from necksearch.search.cost.budget import Budget
    settings = make_settings(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    spent = {"cpu_seconds": 100.0, "train_seconds": 150.0}
    note = {"label": "fpn", "hash": "c", "seed": 1, "fidelity": settings.fidelity()}
    for state, extra in ((States.COMPLETE, {"graph_hash": "a"}), (States.RUNNING, {"graph_hash": "b"}),
                         (States.COMPLETE, {"graph_hash": "c", "confirm": note}),
                         (States.COMPLETE, {"graph_hash": "a", "duplicate_of": 0})):
        study.add_trial(optuna.trial.create_trial(state=state, values=[0.1] if state == States.COMPLETE else None,
                                                  user_attrs={"fidelity": settings.fidelity(), **spent, **extra}))
    for clock, each in (("cpu", 100.0), ("wall", 150.0)):
        budget = Budget(deadline=None, trial_s=60.0, run_limit_s=3600.0, clock=clock)
        searcher = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=0), {}, None, budget)
        assert searcher.run_spend() == {"run_spent_s": 2 * each, "running_spent_s": [each], "completed_spent_s": [each]}


@pytest.mark.parametrize("limit, after", [(80.0, Searcher.FINISHED), (100.0, None), (120.0, "a trial")])
def test_an_interrupted_trial_continues_within_the_run_s_budget_and_a_new_one_waits_or_is_refused(tmp_path, limit,
                                                                                                 after):
    """A killed session's trial has spent 30 of an expected 60 CPU-s: resumed with a run budget of 80, it continues
    (30 spent + its 30 left fit), and no new trial starts (spent + its rest + 60 = 120); at 100 the searcher waits
    (None: 30 + 60 fit if it stopped early), at 120 one starts."""
    from necksearch.search.cost.budget import Budget
    settings = make_settings(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    killed = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=0), {})
    assert killed.suggest("t0")["trial"]["number"] == 0
    storage.set_trial_user_attr(killed.study.trials[0]._trial_id, "cpu_seconds", 30.0)
    budget = Budget(deadline=None, trial_s=60.0, run_limit_s=limit, clock="cpu", run_trial_s=60.0)
    resumed = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=0), {}, None, budget)
    assert resumed.suggest("t1")["trial"]["number"] == 0
    answer = resumed.suggest("t2")
    assert answer == after if after != "a trial" else answer["trial"]["number"] >= 1  # refused draws take numbers
    assert budget.ran_out == ("run" if after is Searcher.FINISHED else None)


def test_a_session_budget_alone_hands_out_trials(tmp_path):
    """Every search has a Budget; one with --max-hours (or none) and no --max-trial-hours never asks the run's spend."""
    from necksearch.search.cost.budget import Budget
    searcher = NeckSearcher(make_settings(tmp_path), "default", optuna.storages.InMemoryStorage(),
                            optuna.samplers.RandomSampler(seed=0), {}, None, Budget(deadline=None, trial_s=60.0))
    assert searcher.run_spend() == {}
    assert searcher.suggest("t0")["trial"]["number"] == 0 and searcher.suggest("t1")["trial"]["number"] >= 1


def test_a_run_s_budget_counts_a_trial_just_handed_out_as_running(tmp_path):
    """Two hand-outs in a row: the first (nothing spent yet) is expected to spend a full trial, so with room for one
    the second waits."""
    from necksearch.search.cost.budget import Budget
    settings = make_settings(tmp_path)
    budget = Budget(deadline=None, trial_s=60.0, run_limit_s=100.0, clock="cpu", run_trial_s=60.0)
    searcher = NeckSearcher(settings, "default", optuna.storages.InMemoryStorage(),
                            optuna.samplers.RandomSampler(seed=0), {}, None, budget)
    assert searcher.suggest("t0")["trial"]["number"] == 0 and searcher.suggest("t1") is None


def test_epoch_reports_record_cpu_and_wall_seconds(tmp_path, fixed):
    searcher = make_searcher(make_settings(tmp_path), fixed)
    searcher.suggest("t0")
    searcher.on_trial_result("t0", {"epoch": 1, "map": 0.1, "cpu_s": 12.5, "train_s": 20.0})
    assert {k: frozen(searcher, 0).user_attrs[k] for k in ("cpu_seconds", "train_seconds")} == \
        {"cpu_seconds": 12.5, "train_seconds": 20.0}


# ---------------------------------------------------------------------------------------------- max_train_cost

BOUND = {"reference": "augfpn", "ratio": 1.25, "reference_s_per_iter": 2.0, "max_s_per_iter": 2.5}


def test_a_sampled_trial_carries_the_train_cost_bound_and_a_fixed_point_does_not(tmp_path, fixed):
    settings = make_settings(tmp_path)
    searcher = NeckSearcher(settings, "default", optuna.storages.InMemoryStorage(),
                            optuna.samplers.RandomSampler(seed=0), fixed, train_cost_bound=BOUND)
    configs = [searcher.suggest(f"t{i}") for i in range(3)]
    assert [c["trial"].get("max_train_cost") for c in configs[:2]] == [None, None]  # fpn, pafpn
    assert configs[2]["trial"]["max_train_cost"] == BOUND


@pytest.mark.parametrize("error", [False, True])  # the trainable ends a refused trial without an error
def test_a_trial_over_the_train_cost_bound_is_a_refusal_pruned_not_a_failure(tmp_path, error):
    """Ended after its first epoch's report, before its last: not left RUNNING as interrupted."""
    from necksearch.search.engine.hooks import TrainCostExceeded
    settings = make_settings(tmp_path)
    searcher = NeckSearcher(settings, "default", optuna.storages.InMemoryStorage(),
                            optuna.samplers.RandomSampler(seed=0), {}, train_cost_bound=BOUND)
    number = searcher.suggest("t0")["trial"]["number"]
    work_dir = trial_dir(settings.run_dir, number)
    work_dir.mkdir(parents=True)
    record_failure(work_dir, TrainCostExceeded("max_train_cost: 3.10 s per training iteration (median of 5) > 1.25 "
                                               "× augfpn's 2.00 s = 2.50 s"))
    searcher.on_trial_complete("t0", {"epoch": 1, "map": 0.1}, error=error)
    trial = frozen(searcher, number)
    # Optuna gives a pruned trial its last reported value
    assert trial.state == States.PRUNED and trial.values == [0.1] and "fail_reason" not in trial.user_attrs
    assert trial.user_attrs["constraint_violation"].startswith("max_train_cost: 3.10 s")


def _refuse_over_cost(searcher, settings, tune_id):
    """Hand out a sampled trial and end it as TrainCostBoundHook would: measured, refused; its graph's hash."""
    import json

    from necksearch.search.engine.hooks import TrainCostExceeded
    from necksearch.search.engine.hooks import TRAIN_COST_FILE
    config = searcher.suggest(tune_id)
    work_dir = trial_dir(settings.run_dir, config["trial"]["number"])
    work_dir.mkdir(parents=True)
    (work_dir / TRAIN_COST_FILE).write_text(json.dumps({"s_per_iter": 3.1, "clock": "cpu", "iterations": 5,
                                                        "max_s_per_iter": 2.5, "ratio_to_reference": 1.55}))
    record_failure(work_dir, TrainCostExceeded("max_train_cost: 3.10 cpu s per training iteration"))
    searcher.on_trial_complete(tune_id)  # the trainable ends a refused trial without an error
    return NeckGraph.from_dict(config["trial"]["graph"], source="t").canonical_hash()


def test_the_train_cost_bound_is_kept_in_the_study_and_a_refused_graph_is_never_trained_again(tmp_path):
    """The first session's bound holds for the later ones; after --resume, a draw of a graph the bound refused is
    answered from its trial (PRUNED, the violation copied), not trained again."""
    settings = make_settings(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    first = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=0), {},
                         train_cost_bound=BOUND)
    refused_hash = _refuse_over_cost(first, settings, "t0")
    refused = frozen(first, 0)
    assert refused.user_attrs["train_cost"]["s_per_iter"] == 3.1 and refused.state == States.PRUNED
    resumed = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=0), {},
                           train_cost_bound=dict(BOUND, max_s_per_iter=9.0))  # this session measured otherwise
    assert resumed.train_cost_bound == BOUND
    resumed.study.enqueue_trial(refused.params)  # the next draw is the refused graph again
    assert resumed.suggest("t1")["trial"]["number"] > 1  # answered without training; another drawn
    again = resumed.study.trials[1]
    assert again.state == States.PRUNED and again.user_attrs["duplicate_of"] == 0
    assert again.user_attrs["graph_hash"] == refused_hash
    assert again.user_attrs["constraint_violation"].startswith("max_train_cost: 3.10")


def test_a_confirmation_of_a_graph_the_train_cost_bound_refused_trains_it_as_asked(tmp_path):
    """A cost-refused draw answers later draws of its graph, never a confirmation's (or a fixed point's) trial."""
    settings = make_settings(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    search = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=0), {},
                          train_cost_bound=BOUND)
    refused_hash = _refuse_over_cost(search, settings, "t0")
    note = {"label": "trial-0", "hash": refused_hash, "seed": 0, "fidelity": settings.fidelity()}
    search.study.enqueue_trial(frozen(search, 0).params, user_attrs={"confirm": note})
    confirm = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=0), {},
                           queued_only=frozenset({refused_hash}))
    config = confirm.suggest("c0")
    assert config["trial"]["number"] == 1 and "max_train_cost" not in config["trial"]
    assert "duplicate_of" not in confirm.study.trials[1].user_attrs


def test_a_chain_hands_out_each_seed_s_queue_in_turn_and_tells_each_trial_to_its_own_searcher(tmp_path, fixed):
    """``necksearch confirm``'s one Tune run over seeds 0 and 1: seed 0's queue first, then seed 1's, each trial's
    config naming its seed; a trial's outcome goes to the searcher that handed it out; then the chain is finished."""
    from necksearch.search.engine.searcher import SearcherChain
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    subs = [make_settings(tmp_path, seed=seed, scheduler="none") for seed in (0, 1)]
    fpn = load_preset("fpn").canonical_hash()
    for sub in subs:
        note = {"label": "fpn", "hash": fpn, "seed": sub.seed, "fidelity": sub.fidelity()}
        study.enqueue_trial(fixed["fpn"], user_attrs={"fixed_point": "fpn", "confirm": note})
    chain = SearcherChain([NeckSearcher(sub, "default", storage, optuna.samplers.RandomSampler(seed=sub.seed), {},
                                        queued_only=frozenset({fpn})) for sub in subs])
    first, second = chain.suggest("t0"), chain.suggest("t1")
    assert [first["trial"]["seed"], second["trial"]["seed"]] == [0, 1]
    assert first["trial"]["graph"]["name"] == "fpn"
    assert [first["trial"]["number"], second["trial"]["number"]] == [0, 1]
    chain.on_trial_complete("t1", {"epoch": 3, "map": 0.25})
    chain.on_trial_result("t0", {"epoch": 1, "map": 0.1})
    assert frozen(chain._searchers[1], 1).state == States.COMPLETE and frozen(chain._searchers[1], 1).value == 0.25
    assert frozen(chain._searchers[0], 0).state == States.RUNNING
    assert frozen(chain._searchers[0], 0).user_attrs["fidelity"]["seed"] == 0
    assert chain.suggest("t2") is Searcher.FINISHED


def test_a_chain_waits_while_one_of_its_searchers_may_hand_out_more_later():
    class Waiting(Searcher):
        resuming = False

        def suggest(self, trial_id):
            return None

    class Done(Searcher):
        resuming = False

        def suggest(self, trial_id):
            return Searcher.FINISHED

    from necksearch.search.engine.searcher import SearcherChain
    assert SearcherChain([Done(metric="map", mode="max"), Waiting(metric="map", mode="max")]).suggest("t0") is None
    assert SearcherChain([Done(metric="map", mode="max")]).suggest("t0") is Searcher.FINISHED


def test_a_chain_hands_out_what_a_killed_run_left_half_trained_first_whatever_its_seed(tmp_path, fixed):
    """Seed 1's training was RUNNING when the confirmation was killed; seed 0 still has one queued: the rerun's first
    slot continues seed 1's (its slot was counted), under its own trial, by seed 1's searcher."""
    from necksearch.search.engine.searcher import SearcherChain
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    subs = [make_settings(tmp_path, seed=seed, scheduler="none") for seed in (0, 1)]
    fpn = load_preset("fpn").canonical_hash()
    notes = [{"label": "fpn", "hash": fpn, "seed": sub.seed, "fidelity": sub.fidelity()} for sub in subs]
    study.enqueue_trial(fixed["fpn"], user_attrs={"fixed_point": "fpn", "confirm": notes[1]})
    study.ask()  # seed 1's training, RUNNING when its run was killed
    study.enqueue_trial(fixed["fpn"], user_attrs={"fixed_point": "fpn", "confirm": notes[0]})
    chain = SearcherChain([NeckSearcher(sub, "default", storage, optuna.samplers.RandomSampler(seed=sub.seed), {},
                                        queued_only=frozenset({fpn})) for sub in subs])
    first, second = chain.suggest("t0"), chain.suggest("t1")
    assert (first["trial"]["number"], first["trial"]["seed"]) == (0, 1)
    assert (second["trial"]["number"], second["trial"]["seed"]) == (1, 0)
    assert chain.suggest("t2") is Searcher.FINISHED


def test_a_confirmation_s_training_of_a_found_graph_is_named_after_the_trial_that_found_it(tmp_path, default_space):
    """Its progress lines, graph.yaml and best/ say ``trial-4`` (the search's trial), not the confirmation's number."""
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    settings = make_settings(tmp_path, seed=1, scheduler="none")
    sample = default_space.sample_of(load_preset("pafpn"))
    graph_hash = load_preset("pafpn").canonical_hash()
    note = {"label": "trial-4", "hash": graph_hash, "seed": 1, "fidelity": settings.fidelity()}
    study.enqueue_trial(sample, user_attrs={"confirm": note})
    confirm = NeckSearcher(settings, "default", storage, optuna.samplers.RandomSampler(seed=1), {},
                           queued_only=frozenset({graph_hash}))
    config = confirm.suggest("t0")
    assert config["trial"]["number"] == 0 and config["trial"]["graph"]["name"] == "trial-4"
