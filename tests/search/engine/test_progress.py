"""``SearchProgress``: one line per event; a confirmation's lines name each trial's seed."""
from types import SimpleNamespace

import pytest

from necksearch.search.engine.progress import SearchProgress


@pytest.mark.parametrize("show_seed, name", [(False, "trial 4 fpn"), (True, "trial 4 fpn seed 7")])
def test_each_line_names_the_trial_and_with_show_seed_its_seed(show_seed, name):
    lines = []
    progress = SearchProgress(2, 3, lines.append, show_seed=show_seed)
    trial = SimpleNamespace(trial_id="t0", last_result={"map": 0.25},
                            config={"trial": {"number": 4, "graph": {"name": "fpn"}, "seed": 7}})
    progress.on_trial_start(0, [], trial)
    progress.on_trial_result(0, [], trial, {"epoch": 3, "map": 0.25, "loss": 1.5})
    progress.on_trial_complete(0, [], trial)
    assert [line.split("] ", 1)[1] for line in lines] == [
        f"{name} started", f"{name}  epoch 3/3  mAP 0.2500  loss 1.500   [1 running, 0 finished of 2]",
        f"{name} finished (mAP 0.2500)"]


def test_a_retried_trial_is_counted_running_once(tmp_path):
    """Tune starts a retried trial again (``on_trial_start``): a trial that failed, was retried and failed again
    leaves none running (2026-12-07: each refusal of the space's max_train_cost added one to the tally for good)."""
    lines = []
    progress = SearchProgress(2, 3, lines.append, run_dir=tmp_path)
    trial = SimpleNamespace(trial_id="t0", last_result=None, config={"trial": {"number": 4, "graph": {"name": "x"}}})
    for _ in range(2):
        progress.on_trial_start(0, [], trial)
        progress.on_trial_recover(0, [], trial)
    progress.on_trial_start(0, [], trial)
    progress.on_trial_error(0, [], trial)
    assert (progress.running, progress.finished) == (0, 1)
    assert lines[1].endswith("trial 4 x failed; retrying from its last checkpoint")


def test_a_refused_trial_ends_with_its_refusal_not_as_pruned(tmp_path):
    from necksearch.search.engine.hooks import TrainCostExceeded
    from necksearch.search.engine.trainable import record_failure, trial_dir
    work_dir = trial_dir(tmp_path, 4)
    work_dir.mkdir(parents=True)
    record_failure(work_dir, TrainCostExceeded("max_train_cost: 3.10 cpu s per training iteration"))
    lines = []
    progress = SearchProgress(2, 3, lines.append, run_dir=tmp_path)
    trial = SimpleNamespace(trial_id="t0", last_result={}, config={"trial": {"number": 4, "graph": {"name": "x"}}})
    progress.on_trial_start(0, [], trial)
    progress.on_trial_complete(0, [], trial)
    assert lines[1].endswith("trial 4 x refused: max_train_cost: 3.10 cpu s per training iteration")
    assert (progress.running, progress.finished) == (0, 1)
