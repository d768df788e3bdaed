"""necksearch.search.core.study: queueing fixed points on a resumed study; a training's score."""
import optuna
import pytest

from necksearch.errors import NeckSearchError

from necksearch.search.core import study as attrs
from tests.search.helpers import optuna_info_messages


def test_requeueing_fixed_points_is_silent_and_queues_each_once():
    study = optuna.create_study()
    samples = {"fpn": {"x": 1}, "pafpn": {"x": 2}}
    with optuna_info_messages() as messages:
        attrs.enqueue_fixed_points(study, samples)
        attrs.enqueue_fixed_points(study, samples)  # what --resume does
    assert not [m for m in messages if "Skipping enqueue" in m]
    queued = study.get_trials(deepcopy=False)
    assert sorted(t.user_attrs[attrs.FIXED_POINT] for t in queued) == ["fpn", "pafpn"]


def _finished(value, curve, reached):
    return optuna.trial.create_trial(value=value, intermediate_values=curve, user_attrs={attrs.EPOCHS_REACHED: reached})


def test_a_training_scores_its_final_map_or_the_mean_of_its_last_epochs():
    trial = _finished(0.30, {1: 0.10, 2: 0.20, 3: 0.26, 4: 0.30}, 4)
    assert attrs.training_score(trial) == 0.30
    assert attrs.training_score(trial, 2) == pytest.approx(0.28)
    assert attrs.training_score(trial, 4) == pytest.approx(0.215)
    assert attrs.score_name(1) == "bbox mAP" and attrs.score_name(4) == "mean bbox mAP of the last 4 epochs"


def test_a_record_without_the_epochs_averaged_is_refused_naming_the_trial():
    """A multi-objective study records no mAP per epoch (Optuna has no intermediate values there), and a killed
    training may have lost an epoch's report; a trial number is -1 until a study holds it."""
    two_objectives = optuna.trial.create_trial(values=[0.30, 3e6], user_attrs={attrs.EPOCHS_REACHED: 3})
    with pytest.raises(NeckSearchError, match=r"trial -1 holds no mAP for epoch\(s\) 2, 3 of its 3 \(a multi-obj"):
        attrs.training_score(two_objectives, 2)
    with pytest.raises(NeckSearchError, match=r"holds no mAP for epoch\(s\) 3 of its 3 \(its training reported none"):
        attrs.training_score(_finished(0.30, {1: 0.1, 2: 0.2}, 3), 2)
    with pytest.raises(NeckSearchError, match=r"^--average-last 4: trial -1 trained 2 epoch\(s\)$"):
        attrs.training_score(_finished(0.30, {1: 0.1, 2: 0.3}, 2), 4)


@pytest.mark.parametrize("last, epochs, message", [
    (0, 3, "--average-last must be at least 1"), (True, 3, "--average-last must be at least 1"),
    (2.0, 3, "--average-last must be at least 1"), (4, 3, "--average-last 4 is more epochs than the 3 trained")])
def test_average_last_is_checked(last, epochs, message):
    with pytest.raises(NeckSearchError, match=message):
        attrs.check_average_last(last, epochs)


def test_average_last_within_the_epochs_passes():
    attrs.check_average_last(3, 3)
    attrs.check_average_last(5, None)  # the config's own epochs: checked per trial
