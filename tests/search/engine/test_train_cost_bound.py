"""The space's ``max_train_cost`` end to end: calibrated at launch, held by each sampled trial
(``hooks.TrainCostBoundHook``), a graph over it refused PRUNED with the violation; a fixed point trains as asked."""
import optuna
import pytest

from tests.search.helpers import load_trials, run_search

pytestmark = pytest.mark.slow

#: fpn and PAFPN's bottom-up steps; the bound (a hundredth of fpn's iteration) refuses every sampled graph.
BOUNDED_SPACE = """
name: bounded
templates: [pyramid]
per_level: {bu: true}
parameters:
  channels: 256
  bu/op: [none, strided_conv_sum]
max_train_cost: {reference: fpn, ratio: 0.01, why: a test bound no graph meets}
presets: [fpn]
fixed_points: [fpn]
"""


def test_a_sampled_graph_over_the_train_cost_bound_is_refused_and_a_fixed_point_trains(tmp_path, search_data_root):
    space = tmp_path / "bounded.yaml"
    space.write_text(BOUNDED_SPACE)
    done = run_search("bounded", tmp_path, search_data_root, str(space), "--num-trials", "3", "--epochs", "2",
                      "--data-fraction", "1.0", "--scheduler", "none", "--max-concurrent", "1")  # 4 iterations an
    # epoch: the 5 timed ones (never an epoch's first) are there by the second epoch
    assert "max_train_cost: a sampled graph is refused if its first training iterations cost more (median of 5) " \
           "than 0.01 × fpn's" in done.stdout
    assert done.stdout.count(" refused: max_train_cost: ") == 2 and "retrying" not in done.stdout
    assert "TrainCostExceeded" not in done.stderr  # a refusal ends its trial without an error: no Ray traceback
    trials = {t.number: t for t in load_trials(tmp_path / "bounded", "bounded")}
    assert trials[0].user_attrs["fixed_point"] == "fpn" and trials[0].state == optuna.trial.TrialState.COMPLETE
    refused = [t for t in trials.values() if t.number > 0]
    assert len(refused) == 2
    for trial in refused:
        # refused in its second epoch, before finishing it (Optuna gives a PRUNED trial its last reported value)
        assert trial.state == optuna.trial.TrialState.PRUNED and trial.user_attrs["epochs_reached"] == 1
        assert trial.user_attrs["constraint_violation"].startswith("max_train_cost: ")
        assert "cpu s per training iteration" in trial.user_attrs["constraint_violation"]
        assert "fail_reason" not in trial.user_attrs
        measured = trial.user_attrs["train_cost"]
        assert measured["clock"] == "cpu" and measured["s_per_iter"] > measured["max_s_per_iter"]
    study = optuna.load_study(study_name="bounded", storage=f"sqlite:///{tmp_path / 'bounded' / 'study.db'}")
    assert study.user_attrs["train_cost_bound"]["reference"] == "fpn"  # kept for the sessions that resume it


def test_a_refusal_before_the_first_epoch_s_report_ends_the_trial_pruned_and_the_search_goes_on(tmp_path):
    """8 iterations an epoch (32 images): the 5 timed ones fall in epoch 1, so the trial is refused before it
    reported anything. Tune must accept its end (a trial ending on Ray's automatic result fails Tune's check for the
    searcher's metric and stops the whole run); it is PRUNED with no epoch, and the next trial trains."""
    from necksearch.data import make_synthetic_coco
    data = make_synthetic_coco(tmp_path / "data32", seed=0, num_train=32, num_val=8, image_hw=(128, 128))
    space = tmp_path / "bounded.yaml"
    space.write_text(BOUNDED_SPACE)
    done = run_search("early", tmp_path, data, str(space), "--num-trials", "3", "--epochs", "1", "--data-fraction",
                      "1.0", "--scheduler", "none", "--max-concurrent", "1")
    assert done.stdout.count(" refused: max_train_cost: ") == 2 and "TrainCostExceeded" not in done.stderr
    assert " epoch 0/" not in done.stdout  # the refusal's report is no epoch
    trials = load_trials(tmp_path / "early", "early")
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] + [optuna.trial.TrialState.PRUNED] * 2
    for trial in trials[1:]:
        assert trial.user_attrs["epochs_reached"] == 0 and trial.values is None
        assert trial.user_attrs["constraint_violation"].startswith("max_train_cost: ")
