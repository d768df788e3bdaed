"""Faults do not stop a search: a trial that raises and one whose loss turns NaN end FAIL with their
reasons after their retries; one whose process is killed once is retried from its last checkpoint and
completes; the healthy trial completes (tests/search/configs/fault_drill.py sets the faults; the hook that fires
them, tests/search/fault_drill.py, loads in every trial's process as a plugin)."""
import json
import os
from pathlib import Path

import pytest
from optuna.trial import TrialState

from tests.search.helpers import by_fixed_point, load_trials, run_search

pytestmark = pytest.mark.slow
DRILL = Path(__file__).parent / "configs" / "fault_drill.py"
HOOK = Path(__file__).parent / "fault_drill.py"


def test_failed_trials_are_recorded_with_reasons_and_the_search_completes(tmp_path, search_data_root):
    run_search("drill", tmp_path, search_data_root, "--config", str(DRILL), "--num-trials", "4",
               "--max-concurrent", "2", "--epochs", "2", "--scheduler", "none", "--retries", "1",
               "--fixed-points", "fpn,pafpn,a2fpn_lite", env={**os.environ, "NECKSEARCH_PLUGINS": str(HOOK)})
    trials = load_trials(tmp_path / "drill", "drill")
    fixed = by_fixed_point(trials)
    assert fixed["fpn"].state == TrialState.FAIL
    assert fixed["fpn"].user_attrs["fail_reason"] == "RuntimeError: fault drill: this trial raises on purpose"
    assert fixed["pafpn"].state == TrialState.FAIL
    assert fixed["pafpn"].user_attrs["fail_reason"].startswith("FloatingPointError: training loss is nan at epoch 2")
    for name in ("fpn", "pafpn"):  # the fault fired in epoch 2: epoch 1 was reached and kept
        assert fixed[name].user_attrs["epochs_reached"] == 1
    killed = fixed["a2fpn_lite"]
    assert killed.state == TrialState.COMPLETE and killed.user_attrs["epochs_reached"] == 2
    epochs = [json.loads(line)["epoch"] for line in
              (tmp_path / "drill" / "trials" / f"{killed.number:04d}" / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]  # resumed from the epoch-1 checkpoint, not trained again from scratch
    sampled = [t for t in trials if "fixed_point" not in t.user_attrs and "duplicate_of" not in t.user_attrs]
    assert [t.state for t in sampled] == [TrialState.COMPLETE]
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    results = json.loads((tmp_path / "drill" / "results.json").read_text())
    reasons = {row["fixed_point"]: row["fail_reason"] for row in results["trials"] if row["state"] == "FAIL"}
    assert set(reasons) == {"fpn", "pafpn"}
