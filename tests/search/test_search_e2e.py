"""End to end on the synthetic data: fixed points, sampled trials, ASHA, the study, the report, the export."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from optuna.trial import TrialState

from tests.search.helpers import by_fixed_point, load_trials, run_search

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def searched(tmp_path_factory, search_data_root):
    """Five trained trials, one at a time (so ASHA's decisions are reproducible): three fixed points first."""
    runs = tmp_path_factory.mktemp("runs")
    done = run_search("e2e", runs, search_data_root, "--num-trials", "5", "--max-concurrent", "1", "--epochs", "3",
                      "--fixed-points", "fpn,pafpn,a2fpn_lite", "--seed", "0")
    return runs / "e2e", done


def test_study_holds_exactly_the_trials_with_honest_states(searched):
    run_dir, _ = searched
    trials = [t for t in load_trials(run_dir, "e2e")
              if "duplicate_of" not in t.user_attrs and "constraint_violation" not in t.user_attrs]
    assert len(trials) == 5
    assert [t.user_attrs.get("fixed_point") for t in trials[:3]] == ["fpn", "pafpn", "a2fpn_lite"]
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned, "ASHA stopped no trial"
    for trial in pruned:
        assert trial.user_attrs["epochs_reached"] < 3 and "pruned_reason" in trial.user_attrs
    for trial in trials:
        if trial.state == TrialState.COMPLETE:
            assert trial.user_attrs["epochs_reached"] == 3 and sorted(trial.intermediate_values) == [1, 2, 3]
        assert len(trial.user_attrs["graph_hash"]) == 64 and trial.user_attrs["graph_yaml"].strip()
        assert trial.user_attrs["fidelity"] == {"epochs": 3, "image_size": 64, "data_fraction": 0.5,
                                                 "config": "faster-rcnn_effnet-lite0_fpn_synth.py", "seed": 0}
    assert len({t.user_attrs["graph_hash"] for t in trials}) == 5


def test_results_leaderboard_pictures_and_best(searched):
    run_dir, done = searched
    results = json.loads((run_dir / "results.json").read_text())
    rows = {row["number"]: row for row in results["trials"]}
    trials = load_trials(run_dir, "e2e")
    assert set(rows) == {t.number for t in trials}
    for trial in trials:
        row = rows[trial.number]
        assert row["state"] == trial.state.name and row["graph_hash"] == trial.user_attrs["graph_hash"]
        assert row["fixed_point"] == trial.user_attrs.get("fixed_point")
        assert row["params"] > 0 and row["flops"] > 0 and row["epochs_reached"] >= 1
    assert by_fixed_point(trials)["fpn"].user_attrs["params"] == 3_344_384  # FPN neck at COCO scale
    assert (run_dir / "leaderboard.txt").read_text().splitlines()[0].split()[:3] == ["trial", "graph", "mAP"]
    assert "trial" in done.stdout and "best: trial" in done.stdout
    for picture in ["pareto.png", "curves.png"] + [f"graphs/trial_{n:04d}.png" for n in rows]:
        assert (run_dir / picture).stat().st_size > 1000, picture
    best = rows[results["best"]]
    assert best["state"] == "COMPLETE"
    assert best["metrics"]["map"] == max(r["metrics"]["map"] for r in rows.values() if r["state"] == "COMPLETE")
    assert "nodes:" in (run_dir / "best" / "graph.yaml").read_text()


def test_the_recipe_resolved_once_is_kept_and_exported(searched, search_data_root):
    """The run keeps its resolved recipe (base config merged, data root absolute); the best config is that recipe
    at full fidelity with the graph written in, on the search's own data."""
    from mmengine.config import Config

    from necksearch.train import Recipe
    run_dir, _ = searched
    recipe = Recipe.load(run_dir)
    assert recipe.source.endswith("faster-rcnn_effnet-lite0_fpn_synth.py")
    best = Config.fromfile(str(run_dir / "best" / "config.py"))
    root = str(Path(search_data_root).resolve()) + "/"
    assert best.train_dataloader.dataset.data_root == root == recipe.config().train_dataloader.dataset.data_root
    assert "indices" not in best.train_dataloader.dataset  # full fidelity: every training image
    assert best.train_cfg.max_epochs == recipe.config().train_cfg.max_epochs


def test_exported_config_trains_with_necksearch_train(searched, search_data_root, tmp_path):
    """... and MMDetection's own tools/test.py evaluates the checkpoint `necksearch train` wrote."""
    run_dir, _ = searched
    done = subprocess.run([sys.executable, "-m", "necksearch", "train", str(run_dir / "best" / "config.py"),
                           "--data-root", str(search_data_root), "--epochs", "1", "--image-size", "64",
                           "--work-dir", str(tmp_path / "w")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["last"]["epoch"] == 1
    _assert_mmdet_test_scores(run_dir / "best" / "config.py", tmp_path / "w" / "epoch_1.pth", tmp_path)


def test_mmdetection_tools_train_then_test_the_exported_config(searched, tmp_path):
    """The README's promise: MMDetection's own scripts (shipped in mmdet/.mim/tools) train the exported config and
    evaluate the checkpoint that training wrote (torch loads it weights-only: necksearch.mmdet's allow-list)."""
    run_dir, _ = searched
    config = run_dir / "best" / "config.py"
    trained = _mmdet_tool("train.py", config, "--work-dir", "w", "--cfg-options", "train_cfg.max_epochs=1", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    _assert_mmdet_test_scores(config, tmp_path / "w" / "epoch_1.pth", tmp_path)


def _mmdet_tool(script: str, *args, cwd: Path) -> subprocess.CompletedProcess:
    import mmdet
    tool = Path(mmdet.__file__).parent / ".mim" / "tools" / script
    return subprocess.run([sys.executable, str(tool), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def _assert_mmdet_test_scores(config: Path, checkpoint: Path, cwd: Path) -> None:
    """The exported config names the search's data root (absolute): the tools run from any directory."""
    cwd.mkdir(parents=True, exist_ok=True)
    tested = _mmdet_tool("test.py", config, checkpoint, "--work-dir", "t", cwd=cwd)
    assert tested.returncode == 0, tested.stderr[-3000:]
    logs = sorted((cwd / "t").glob("*/*.json"))
    assert logs, f"tools/test.py wrote no metrics file under {cwd / 't'}"
    metrics = json.loads(logs[-1].read_text().strip().splitlines()[-1])
    assert 0.0 <= metrics["coco/bbox_mAP"] <= 1.0 and "coco/bbox_mAP_50" in metrics


def test_multi_objective_search_has_two_directions_and_a_pareto_plot(tmp_path, search_data_root):
    run_search("pareto", tmp_path, search_data_root, "--num-trials", "3", "--max-concurrent", "2", "--epochs", "1",
               "--objectives", "map,params", "--sampler", "nsga2", "--fixed-points", "fpn,pafpn")
    import optuna
    study = optuna.load_study(study_name="pareto", storage=f"sqlite:///{tmp_path / 'pareto' / 'study.db'}")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 3 and all(t.values[1] == t.user_attrs["params"] for t in complete)
    results = json.loads((tmp_path / "pareto" / "results.json").read_text())
    assert results["objectives"] == ["map", "params"] and results["directions"] == ["max", "min"]
    assert (tmp_path / "pareto" / "pareto.png").stat().st_size > 1000
