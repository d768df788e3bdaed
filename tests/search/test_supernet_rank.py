"""necksearch.search.supernet_rank without training: what a stand-alone training costs, from a fidelity run's study."""
import datetime
from types import SimpleNamespace

import optuna
import pytest

from necksearch.search.supernet_rank import stand_alone_cpu_seconds

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _add_training(study, wall_s, cpu_s=None, state=optuna.trial.TrialState.COMPLETE):
    start = datetime.datetime(2026, 11, 30, 1, 0, 0)
    study.add_trial(optuna.trial.FrozenTrial(
        number=0, trial_id=0, state=state, value=0.2 if state == optuna.trial.TrialState.COMPLETE else None,
        datetime_start=start, datetime_complete=start + datetime.timedelta(seconds=wall_s), params={},
        distributions={}, user_attrs={} if cpu_s is None else {"cpu_seconds": cpu_s}, system_attrs={},
        intermediate_values={}))


@pytest.fixture()
def run(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    studies = {name: optuna.create_study(study_name=name, storage=storage) for name in ("low-seed0", "high-seed0")}
    return SimpleNamespace(run_dir=tmp_path, cpus_per_trial=2.0), studies


def test_recorded_cpu_time_is_the_cost_where_trainings_recorded_it(run):
    fidelity, studies = run
    _add_training(studies["low-seed0"], wall_s=900, cpu_s=200.0)  # slowed by other work: its wall time says 1800
    _add_training(studies["low-seed0"], wall_s=300, cpu_s=400.0)
    _add_training(studies["low-seed0"], wall_s=600)  # an older trial without the record: left out
    _add_training(studies["high-seed0"], wall_s=5000, cpu_s=5000.0)  # the other fidelity: not this cost
    seconds, basis = stand_alone_cpu_seconds(fidelity)
    assert seconds == pytest.approx(300.0) and basis == "process CPU time of 2 trainings"


def test_older_runs_fall_back_to_wall_time_times_cpus_and_say_so(run):
    fidelity, studies = run
    _add_training(studies["low-seed0"], wall_s=100)
    _add_training(studies["low-seed0"], wall_s=300)
    _add_training(studies["low-seed0"], wall_s=50, state=optuna.trial.TrialState.FAIL)
    seconds, basis = stand_alone_cpu_seconds(fidelity)
    assert seconds == pytest.approx(400.0) and basis.startswith("wall time × CPUs of 2 trainings")


def test_a_run_without_finished_trainings_has_no_cost(run):
    fidelity, _ = run
    assert stand_alone_cpu_seconds(fidelity) == (None, "no finished training")
