"""necksearch.search.study: queueing fixed points on a resumed study."""
import logging

import optuna

from necksearch.search import study as attrs


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_requeueing_fixed_points_is_silent_and_queues_each_once():
    study = optuna.create_study()
    samples = {"fpn": {"x": 1}, "pafpn": {"x": 2}}
    records = Records()
    logger = logging.getLogger("optuna")
    logger.addHandler(records)
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        attrs.enqueue_fixed_points(study, samples)
        attrs.enqueue_fixed_points(study, samples)  # what --resume does
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        logger.removeHandler(records)
    assert not [m for m in records.messages if "Skipping enqueue" in m]
    queued = study.get_trials(deepcopy=False)
    assert sorted(t.user_attrs[attrs.FIXED_POINT] for t in queued) == ["fpn", "pafpn"]
