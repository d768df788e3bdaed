"""necksearch.search.core.study: queueing fixed points on a resumed study."""
import optuna

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
