"""necksearch.search.confirm: the checks before Ray, queueing per seed with reuse, the statistics and the verdict,
and (slow) a tiny search confirmed end to end over 2 graphs × 2 seeds × 1 epoch."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import optuna
import pytest

from necksearch.errors import NeckSearchError
from necksearch.search.core import study as attrs
from necksearch.search.confirm import (Candidate, ConfirmSettings, check_counts, confirm_fidelity, confirmed_against,
                                       found_candidates, held_out_candidate, held_out_seeds, queue_seed,
                                       results_markdown, seed_settings, summarise, summarise_holdout, verdict)
from necksearch.search.core.settings import SearchSettings
from necksearch.train.fidelity import Fidelity
from tests.search.helpers import cli_error, load_trials, run_search, stored_search_run, study_with

SEARCH = SearchSettings(name="s", epochs=3, image_size=128, data_fraction=1.0, seed=0)


def _trial(fidelity, graph_hash, value, state=optuna.trial.TrialState.COMPLETE, **user):
    return optuna.trial.create_trial(state=state, value=value if state == optuna.trial.TrialState.COMPLETE else None,
                                     user_attrs={attrs.GRAPH_HASH: graph_hash, attrs.FIDELITY: fidelity, **user})


CANDIDATES = [Candidate("trial-4", {}, "found", None), Candidate("fpn", {}, "fpnhash", "fpn")]


def test_counts_and_fidelity_are_checked():
    with pytest.raises(NeckSearchError, match="--seeds must be at least 2"):
        check_counts(3, 1)
    with pytest.raises(NeckSearchError, match="--top must be at least 1"):
        check_counts(0, 3)
    with pytest.raises(NeckSearchError, match="--holdout must be 0 or at least 2"):
        check_counts(3, 3, 1)
    check_counts(3, 3, 0)
    check_counts(3, 3, 2)
    check_counts(3, 3, 0, 0)
    with pytest.raises(NeckSearchError, match="--first-seed must be a seed, 0 or more, got -1"):
        check_counts(3, 3, 0, -1)
    own = Fidelity(3, 128, 1.0)
    assert confirm_fidelity(SEARCH, None) == own
    assert confirm_fidelity(SEARCH, Fidelity(3, 160, 1.0)) == Fidelity(3, 160, 1.0)
    with pytest.raises(NeckSearchError, match=r"lower than the search's \(epochs 2 < 3\)"):
        confirm_fidelity(SEARCH, Fidelity(2, 128, 1.0))


def test_a_confirmation_trains_under_none_of_the_search_s_budgets():
    """Its trainings are not the search's: neither --max-hours nor --max-trial-hours stops them."""
    budgeted = dataclasses.replace(SEARCH, max_hours=0.5, max_trial_hours=2.0)
    sub = seed_settings(budgeted, confirm_fidelity(budgeted, None), 1, 3, None)
    assert (sub.max_hours, sub.max_trial_hours) == (None, None)


def test_a_seed_queues_only_what_it_lacks_and_a_second_call_queues_nothing():
    sub0, sub1 = (seed_settings(SEARCH, confirm_fidelity(SEARCH, None), i, 2, None) for i in (0, 1))
    study = study_with(_trial(sub0.fidelity(), "found", 0.30), _trial(sub0.fidelity(), "fpnhash", 0.2,
                                                                     state=optuna.trial.TrialState.PRUNED))
    assert queue_seed(study, sub0, CANDIDATES) == 1  # found reused; fpn was stopped early by ASHA: trained again
    assert queue_seed(study, sub1, CANDIDATES) == 2
    waiting = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.WAITING]
    assert [(t.user_attrs["confirm"]["label"], t.user_attrs["confirm"]["seed"]) for t in waiting] == \
        [("fpn", 0), ("trial-4", 1), ("fpn", 1)]
    assert waiting[0].user_attrs["fixed_point"] == "fpn" and waiting[1].user_attrs["fixed_point"] is None
    assert queue_seed(study, sub1, CANDIDATES) == 2 and len(study.get_trials()) == 5  # a rerun queues nothing more
    assert sub1.seed == 1 and sub1.scheduler == "none" and sub1.fidelity()["seed"] == 1


def test_summary_compares_each_found_graph_with_every_published_one():
    subs = [seed_settings(SEARCH, confirm_fidelity(SEARCH, None), i, 3, None) for i in range(3)]
    trials = [_trial(sub.fidelity(), "found", value) for sub, value in zip(subs, (0.31, 0.30, 0.32))]
    trials += [_trial(sub.fidelity(), "fpnhash", value) for sub, value in zip(subs, (0.26, 0.25, 0.27))]
    results = summarise(trials, CANDIDATES, subs)
    found = results["graphs"]["trial-4"]
    assert found["mean"] == pytest.approx(0.31) and found["n"] == 3 and found["maps"] == {"0": 0.31, "1": 0.30, "2": 0.32}
    assert found["against"]["fpn"]["diff"] == pytest.approx(0.05) and found["against"]["fpn"]["low"] > 0
    assert found["beats"] == ["fpn"] and results["best"] == "trial-4" and results["best_published"] == "fpn"
    assert verdict("trial-4", found, "fpn").startswith("trial-4 beats fpn beyond noise: +0.050 [+0.")


def test_a_difference_within_the_noise_is_no_win_and_a_failed_seed_is_left_out():
    subs = [seed_settings(SEARCH, confirm_fidelity(SEARCH, None), i, 3, None) for i in range(3)]
    trials = [_trial(sub.fidelity(), "found", value) for sub, value in zip(subs, (0.33, 0.24, 0.30))]
    trials += [_trial(sub.fidelity(), "fpnhash", value) for sub, value in zip(subs[:2], (0.26, 0.28))]
    trials.append(_trial(subs[2].fidelity(), "fpnhash", None, state=optuna.trial.TrialState.FAIL))
    results = summarise(trials, CANDIDATES, subs)
    assert results["graphs"]["fpn"]["n"] == 2 and results["graphs"]["fpn"]["maps"]["2"] is None
    assert results["graphs"]["trial-4"]["beats"] == []
    assert "does not beat fpn beyond noise" in verdict("trial-4", results["graphs"]["trial-4"], "fpn")
    assert results["best"] == "trial-4"  # the only graph with every seed finished


def test_each_seed_can_be_scored_by_the_mean_of_its_last_epochs():
    """``--average-last 2``: the mean of epochs 2 and 3 per seed (a record that lacks them: test_study.py)."""
    subs = [seed_settings(SEARCH, confirm_fidelity(SEARCH, None), i, 2, None) for i in range(2)]

    def trained(sub, graph_hash, curve):
        return optuna.trial.create_trial(value=curve[-1], intermediate_values=dict(enumerate(curve, 1)), user_attrs={
            attrs.GRAPH_HASH: graph_hash, attrs.FIDELITY: sub.fidelity(), attrs.EPOCHS_REACHED: len(curve)})
    trials = [trained(subs[0], "found", [0.1, 0.30, 0.26]), trained(subs[1], "found", [0.1, 0.28, 0.30]),
              trained(subs[0], "fpnhash", [0.1, 0.20, 0.28]), trained(subs[1], "fpnhash", [0.1, 0.22, 0.24])]
    final, smoothed = summarise(trials, CANDIDATES, subs), summarise(trials, CANDIDATES, subs, 2)
    assert final["graphs"]["trial-4"]["maps"] == {"0": 0.26, "1": 0.30} and final["score"] == "bbox mAP"
    assert smoothed["graphs"]["trial-4"]["maps"] == {"0": pytest.approx(0.28), "1": pytest.approx(0.29)}
    assert smoothed["graphs"]["fpn"]["mean"] == pytest.approx(0.235)
    assert smoothed["score"] == "mean bbox mAP of the last 2 epochs"
    assert "; mean bbox mAP of the last 2 epochs; differences" in results_markdown("s", smoothed)


@pytest.mark.usefixtures("no_ray")
def test_bad_input_is_refused_in_one_line_before_ray(tmp_path, capsys):
    assert "is not a directory" in cli_error(capsys, "confirm", tmp_path / "missing")
    assert "is not a search run directory" in cli_error(capsys, "confirm", tmp_path)
    run_dir = stored_search_run(tmp_path, 0.2, 0.3)
    assert "--top 3: search run has 2 distinct sampled graph(s) trained to the end" in \
        cli_error(capsys, "confirm", run_dir, "--top", "3")
    assert "--seeds must be at least 2" in cli_error(capsys, "confirm", run_dir, "--seeds", "1")
    assert "--holdout must be 0 or at least 2" in cli_error(capsys, "confirm", run_dir, "--holdout", "1")
    assert "--first-seed must be a seed, 0 or more, got -2" in \
        cli_error(capsys, "confirm", run_dir, "--first-seed", "-2")
    assert "--average-last 4 is more epochs than the 3 trained" in \
        cli_error(capsys, "confirm", run_dir, "--average-last", "4")
    assert "--average-last must be at least 1" in cli_error(capsys, "confirm", run_dir, "--average-last", "0")
    two = stored_search_run(tmp_path / "two", 0.2, 0.3)
    stored = json.loads((two / "search.json").read_text())
    (two / "search.json").write_text(json.dumps({**stored, "objectives": ["map", "params"]}))
    assert "search run optimises map, params, and a multi-objective study records no mAP per epoch" in \
        cli_error(capsys, "confirm", two, "--average-last", "2")
    assert "lower than the search's (image_size 96 < 128)" in cli_error(capsys, "confirm", run_dir, "--fidelity", "3,96,1")
    assert "unknown preset 'nosuchpreset'" in cli_error(capsys, "confirm", run_dir, "--top", "1", "--against", "nosuchpreset")
    assert "--trials 5: not a sampled trial of search run trained to the end (those are: 0, 1)" in \
        cli_error(capsys, "confirm", run_dir, "--trials", "1,5")
    assert "--trials x: give trial numbers" in cli_error(capsys, "confirm", run_dir, "--trials", "x")


def test_search_confirm_hands_its_holdout_to_the_confirmation(tmp_path, capsys, monkeypatch):
    """``search --confirm K --holdout H`` confirms the run with H held-out seeds; --holdout alone, or 1, is refused
    in one line before anything trains."""
    from necksearch.search import confirm
    from necksearch.search.engine import run as engine
    searched, confirmed = [], []
    monkeypatch.setattr(engine, "run_search", lambda settings, resume, dry_run: searched.append(settings) or
                        type("Report", (), {"best": object(), "run_dir": tmp_path / settings.name})())
    monkeypatch.setattr(confirm, "run_confirm", confirmed.append)
    from necksearch.cli import main
    assert main(["search", "--name", "s", "--runs-dir", str(tmp_path), "--confirm", "2", "--holdout", "4"]) == 0
    assert [(c.run_dir, c.top, c.holdout, c.seeds) for c in confirmed] == [(str(tmp_path / "s"), 2, 4, 3)]
    assert "--holdout 2 needs --confirm K" in cli_error(capsys, "search", "--runs-dir", tmp_path, "--holdout", "2")
    assert "--holdout must be 0 or at least 2" in cli_error(capsys, "search", "--runs-dir", tmp_path, "--confirm", "1",
                                                             "--holdout", "1")
    assert len(searched) == 1 and len(confirmed) == 1


def test_trials_named_are_confirmed_instead_of_the_top_ones(tmp_path):
    from necksearch.search.core.settings import load_run
    from necksearch.search.core.storage import load_study, open_storage, storage_url
    from necksearch.space import load_space
    settings = load_run(stored_search_run(tmp_path, 0.2, 0.3), "confirm")
    study = load_study(settings.name, open_storage(storage_url(settings.storage, settings.run_dir)), "test")
    trials, space = study.get_trials(), load_space(settings.space)
    assert [c.label for c in found_candidates(settings, trials, space, 1)] == ["trial-1"]  # the better one
    assert [c.label for c in found_candidates(settings, trials, space, 1, (0,))] == ["trial-0"]
    assert [c.label for c in found_candidates(settings, trials, space, 1, (0, 1, 0))] == ["trial-0", "trial-1"]


@pytest.mark.slow
def test_a_tiny_search_is_confirmed_over_two_seeds_reusing_its_own(tmp_path, search_data_root):
    """2 graphs (fpn and one sampled) × 2 seeds × 1 epoch: seed 0 is the search's, so only seed 1 trains; a second
    run trains nothing; best/ is the confirmed best and the search's leaderboard does not list the confirmation."""
    run_search("tiny", tmp_path, search_data_root, "--num-trials", "2", "--fixed-points", "fpn", "--epochs", "1",
               "--sampler", "random")
    run_dir = tmp_path / "tiny"
    before = len(load_trials(run_dir, "tiny"))
    command = [sys.executable, "-m", "necksearch", "confirm", str(run_dir), "--top", "1", "--seeds", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    assert " fpn seed 1 finished" in done.stdout  # the seeds train as one Tune run, whose lines name each seed
    trials = load_trials(run_dir, "tiny")
    confirming = [t for t in trials if attrs.CONFIRM in t.user_attrs]
    assert len(trials) == before + 2 and len(confirming) == 2
    assert {t.user_attrs[attrs.CONFIRM]["seed"] for t in confirming} == {1}
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in confirming)
    results = json.loads((run_dir / "confirm.json").read_text())
    assert sorted(results["graphs"]) == ["fpn", "trial-1"] and all(g["n"] == 2 for g in results["graphs"].values())
    assert results["best"] in results["graphs"] and (run_dir / "confirm.png").is_file()
    assert "confirmed best over seeds 0, 1" in (run_dir / "best" / "config.py").read_text()
    assert (run_dir / "best" / "graph.png").is_file()
    assert (run_dir / "best" / "graph.yaml").read_text().startswith(f"name: {results['best']}\n")  # the label
    again = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and len(load_trials(run_dir, "tiny")) == len(trials), again.stderr[-3000:]
    held = subprocess.run([*command, "--holdout", "2"], capture_output=True, text=True, timeout=900)
    assert held.returncode == 0, held.stderr[-4000:]  # trial-1 alone at seeds 2 and 3, as one Tune run
    assert "held-out seeds 2, 3: trial-1" in held.stdout and " seed 3 finished" in held.stdout
    assert len(load_trials(run_dir, "tiny")) == len(trials) + 2
    holdout = json.loads((run_dir / "confirm.json").read_text())["holdout"]
    assert holdout["graph"] == "trial-1" and holdout["seeds"] == [2, 3] and holdout["n"] == 2
    assert "- held out: trial-1, the best found graph over seeds 0, 1, trained again on seeds 2, 3" in \
        (run_dir / "confirm.md").read_text()
    rerun = subprocess.run([*command, "--holdout", "2"], capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0 and len(load_trials(run_dir, "tiny")) == len(trials) + 2, rerun.stderr[-3000:]


def test_the_best_published_neck_is_named_even_with_too_few_seeds_to_compare():
    subs = [seed_settings(SEARCH, confirm_fidelity(SEARCH, None), i, 3, None) for i in range(3)]
    candidates = CANDIDATES + [Candidate("msca_fpn", {}, "mscahash", "msca_fpn")]
    trials = [_trial(sub.fidelity(), "found", value) for sub, value in zip(subs, (0.31, 0.30, 0.32))]
    trials += [_trial(sub.fidelity(), "fpnhash", value) for sub, value in zip(subs, (0.26, 0.25, 0.27))]
    trials.append(_trial(subs[0].fidelity(), "mscahash", 0.40))  # its other seeds failed or are not trained yet
    results = summarise(trials, candidates, subs)
    assert results["best_published"] == "msca_fpn"
    assert verdict("trial-4", results["graphs"]["trial-4"], "msca_fpn") == \
        "trial-4: too few finished seeds (2 a side) to compare with msca_fpn"


def test_the_best_found_graph_is_judged_again_on_held_out_seeds():
    """Seeds 5-7 (a search at seed 5) flatter trial-4 (beyond noise above fpn there); on seeds 8-9, which chose
    nothing, it is level."""
    search = dataclasses.replace(SEARCH, seed=5)
    subs = [seed_settings(search, confirm_fidelity(search, None), 5 + i, 3, None) for i in range(3)]
    held = [seed_settings(search, confirm_fidelity(search, None), 5 + i, 1, None) for i in (3, 4)]
    candidates = CANDIDATES + [Candidate("trial-9", {}, "other", None)]
    trials = [_trial(sub.fidelity(), "found", value) for sub, value in zip(subs, (0.31, 0.30, 0.32))]
    trials += [_trial(sub.fidelity(), "other", value) for sub, value in zip(subs, (0.29, 0.28, 0.27))]
    trials += [_trial(sub.fidelity(), "fpnhash", value) for sub, value in zip(subs, (0.26, 0.25, 0.27))]
    results = summarise(trials, candidates, subs)
    assert results["graphs"]["trial-4"]["beats"] == ["fpn"]
    chosen = held_out_candidate(results, candidates)
    assert chosen.label == "trial-4"  # the best mean of the found graphs (fpn, published, is never held out)
    trials += [_trial(sub.fidelity(), "found", value) for sub, value in zip(held, (0.27, 0.25))]
    results["holdout"] = summarise_holdout(trials, chosen, held, results)
    assert results["holdout"]["seeds"] == [8, 9] and results["holdout"]["maps"] == {"8": 0.27, "9": 0.25}
    assert results["holdout"]["mean"] == pytest.approx(0.26) and results["holdout"]["beats"] == []
    assert results["holdout"]["against"]["fpn"]["diff"] == pytest.approx(0.0)
    text = results_markdown("s", results)
    assert ("- held out: trial-4, the best found graph over seeds 5, 6, 7, trained again on seeds 8, 9 (0.270 / 0.250, "
            "0.260 ± 0.014), seeds that chose nothing: trial-4 does not beat fpn beyond noise: +0.000 [") in text
    assert "- confirmed best: trial-4, against published fpn; found trial-9\n" in text
    assert held_out_candidate({"seeds": [0, 1], "graphs": {"trial-4": {"n": 1}, "fpn": {"n": 2}}}, CANDIDATES) is None


def test_a_found_graph_that_is_a_published_neck_is_confirmed_once(tmp_path, monkeypatch):
    from necksearch.search import confirm as confirm_module
    found = [Candidate("trial-7", {"a": 1}, "fpnhash", None)]
    monkeypatch.setattr(confirm_module, "found_candidates", lambda *args: found)
    monkeypatch.setattr(confirm_module, "published_candidates", lambda *args: CANDIDATES[1:])
    assert [c.label for c in confirm_module.choose(SEARCH, [], None, ConfirmSettings("run", top=1))] == ["trial-7"]


def test_first_seed_moves_the_confirmation_and_its_held_out_seeds(tmp_path, monkeypatch):
    """``--first-seed 4`` with S=2, H=2 trains seeds 4, 5, then the held-out 6, 7, whatever the search's seed (0)."""
    import contextlib

    from necksearch.search import confirm as confirm_module
    from necksearch.search.engine import run as run_module
    trained = []
    monkeypatch.setattr(run_module, "ray_session", lambda resources: contextlib.nullcontext())
    monkeypatch.setattr(confirm_module, "train_seeds",
                        lambda subs, storage, candidates, say: trained.append([sub.seed for sub in subs]))
    monkeypatch.setattr(confirm_module, "write_results", lambda *args: None)
    monkeypatch.setattr(confirm_module, "held_out_candidate", lambda results, candidates: candidates[0])
    monkeypatch.setattr(confirm_module, "summarise_holdout", lambda *args: {})
    run_dir = stored_search_run(tmp_path, 0.2, 0.3)
    results = confirm_module.run_confirm(ConfirmSettings(str(run_dir), top=1, seeds=2, holdout=2, first_seed=4,
                                                         against=("fpn",)), write=lambda text: None)
    assert trained == [[4, 5], [6, 7]] and results["seeds"] == [4, 5]  # each set of seeds as one Tune run


def test_best_s_note_names_what_the_best_was_confirmed_against():
    """A found best against the published necks (and the other found graphs); a published best that is the only
    published neck against the found graphs it beat, not an empty list."""
    graphs = {"trial-4": {"published": False}, "trial-9": {"published": False}, "fpn": {"published": True},
              "msca_fpn": {"published": True}}
    assert confirmed_against({"best": "trial-4", "graphs": graphs}) == "published fpn, msca_fpn; found trial-9"
    del graphs["msca_fpn"]
    assert confirmed_against({"best": "fpn", "graphs": graphs}) == "found trial-4, trial-9"
    assert confirmed_against({"best": "fpn", "graphs": {"fpn": {"published": True}}}) == "no other graph"


def test_held_out_seeds_skip_the_search_s_own_seed():
    """A search at seed 3 confirmed at seeds 0-2 (``--first-seed 0``): its trial at seed 3 chose the graph, so the
    held-out seeds are 4-7; without it in the way they are the next H."""
    assert held_out_seeds(3, 4, 3) == [4, 5, 6, 7]
    assert held_out_seeds(3, 2, 0) == [3, 4] and held_out_seeds(3, 2, 4) == [3, 5]
