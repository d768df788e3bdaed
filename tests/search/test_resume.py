"""Kill and resume: the search process is SIGKILLed (or Ctrl-C'd) while a trial is mid-training, then run
again with --resume; the study ends with every trial finished exactly once, none RUNNING, none trained twice."""
import json
import os
import signal
import subprocess
import time

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

from tests.search.helpers import load_trials, run_search, search_args

pytestmark = pytest.mark.slow
OPTIONS = ["--num-trials", "4", "--max-concurrent", "2", "--epochs", "3", "--scheduler", "none",
           "--fixed-points", "fpn,pafpn,a2fpn_lite"]


def _wait_until_mid_run(run_dir, process, timeout=600, need_finished=True):
    """Poll the study until a trial has finished an epoch but not all (and, if asked, another is finished)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the search ended before it could be killed"
        if (run_dir / "search.json").is_file():  # written once the study's tables exist: polling cannot race them
            try:
                trials = load_trials(run_dir, run_dir.name)
            except (KeyError, optuna.exceptions.StorageInternalError, sqlalchemy.exc.OperationalError):
                trials = []  # no study yet, or the database locked for a moment
            finished = [t for t in trials if t.state.is_finished()]
            mid = [t for t in trials if t.state == TrialState.RUNNING and 1 <= t.user_attrs.get("epochs_reached", 0) < 3]
            if mid and (finished or not need_finished):
                return {t.number: (t.state, t.values, t.datetime_complete) for t in finished}, mid
        time.sleep(0.5)
    raise AssertionError("the search never reached a finished trial next to a half-trained one")


def test_killed_search_resumes_without_losing_or_repeating_trials(tmp_path, search_data_root):
    run_dir = tmp_path / "killed"
    process = subprocess.Popen(search_args("killed", tmp_path, search_data_root, *OPTIONS),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        finished_before, mid = _wait_until_mid_run(run_dir, process)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert [t for t in load_trials(run_dir, "killed") if t.state == TrialState.RUNNING]

    done = run_search("killed", tmp_path, search_data_root, "--resume")
    assert "trials finished before" in done.stdout
    trials = [t for t in load_trials(run_dir, "killed") if "duplicate_of" not in t.user_attrs]
    assert len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["graph_hash"] for t in trials}) == 4
    for number, (state, values, completed) in finished_before.items():  # kept as they were, not run again
        trial = trials[number]
        assert (trial.state, trial.values, trial.datetime_complete) == (state, values, completed)
    for trial in trials:  # every epoch trained once: the interrupted ones continued from their checkpoint
        work_dir = run_dir / "trials" / f"{trial.number:04d}"
        lines = (work_dir / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3], trial.number
        assert [p.name for p in work_dir.glob("epoch_*.pth")] == ["epoch_3.pth"]  # a trial keeps its last only
    resumed = {t.number for t in mid}
    assert all(trials[n].user_attrs["epochs_reached"] == 3 for n in resumed)


def test_ctrl_c_leaves_unfinished_trials_running_for_resume(tmp_path, search_data_root):
    run_dir = tmp_path / "stopped"
    options = ["--num-trials", "2", "--max-concurrent", "2", "--epochs", "3", "--scheduler", "none",
               "--fixed-points", "fpn,pafpn"]
    process = subprocess.Popen(search_args("stopped", tmp_path, search_data_root, *options),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        _wait_until_mid_run(run_dir, process, need_finished=False)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=300)
    finally:
        process.kill()
    trials = load_trials(run_dir, "stopped")
    unfinished = [t.number for t in trials if t.state == TrialState.RUNNING]
    assert unfinished and not [t for t in trials if t.state in (TrialState.PRUNED, TrialState.FAIL)]
    assert "--resume --name stopped" in out  # the report says how to continue

    run_search("stopped", tmp_path, search_data_root, "--resume")
    assert [t.state for t in load_trials(run_dir, "stopped")] == [TrialState.COMPLETE] * 2
