"""``necksearch fidelity``: statistics on hand-made tables, refusals before Ray starts, and (slow) a real run of
3 graphs × 2 seeds at two tiny fidelities that resumes like a search, with finite rank correlations."""
import json
import math
import subprocess
import sys

import pytest

from necksearch.errors import NeckSearchError
from necksearch.search.fidelity import FidelitySettings, check_finished, summarise
from necksearch.train.fidelity import Fidelity
from tests.search.helpers import cli_error, load_trials

LOW = Fidelity(1, 64, 0.5)
HIGH = Fidelity(2, 64, 0.5)


def test_a_sub_search_left_unfinished_stops_the_run_with_the_resume_line(tmp_path):
    """Tune ends its run gracefully on Ctrl-C; the fidelity command must stop there, not start the next seed."""
    from necksearch.search.engine.report import Report
    settings = FidelitySettings(graphs=("fpn", "pafpn"), name="grid", runs_dir=str(tmp_path))
    finished = Report(tmp_path / "low-seed0", [{"number": 0, "state": "COMPLETE"}, {"number": 1, "state": "PRUNED"}],
                      None, "")
    check_finished(finished, settings)
    interrupted = Report(tmp_path / "low-seed1", [{"number": 0, "state": "COMPLETE"}, {"number": 1, "state": "RUNNING"}],
                         None, "")
    with pytest.raises(NeckSearchError, match=r"interrupted: low-seed1 left trials 1 unfinished; continue with: "
                                              r"necksearch fidelity --resume --name grid"):
        check_finished(interrupted, settings)


def test_summary_of_a_table():
    table = {"fpn": {"low": {0: 0.10, 1: 0.12}, "high": {0: 0.30, 1: 0.32}},
             "pafpn": {"low": {0: 0.08, 1: 0.09}, "high": {0: 0.25, 1: 0.27}},
             "mine": {"low": {0: 0.02, 1: 0.01}, "high": {0: 0.05}}}
    results = summarise(table, FidelitySettings(graphs=("fpn", "pafpn", "mine"), low=LOW, high=HIGH))
    assert results["graphs"]["fpn"]["low"] == {"mean": pytest.approx(0.11), "std": pytest.approx(0.0141421, abs=1e-6),
                                               "n": 2}
    assert results["graphs"]["mine"]["high"] == {"mean": 0.05, "std": 0.0, "n": 1}
    assert results["low_to_high"]["tau"] == 1.0 and results["low_to_high"]["graphs"] == 3
    assert results["seed_to_seed"]["low"]["tau"] == 1.0
    assert results["seed_to_seed"]["high"]["tau"] is None  # 'mine' has one high seed: 2 shared graphs only
    (entry,) = results["measurements"]  # only the low fidelity has a seed-to-seed τ to record
    assert entry["config"] == "faster-rcnn_effnet-lite0_fpn_synth.py" and entry["epochs"] == 1
    assert entry["seed_tau"] == 1.0 and entry["low_high_tau"] == 1.0 and entry["seeds"] == 2  # trained seeds
    assert entry["high"] == "2 ep, 64², 0.5 of the data"


def test_a_smoothed_score_is_named_and_records_no_measurement_of_the_final_map():
    """``--average-last 2``: rank_fidelity.json's entries are of the final mAP, which a search ranks by."""
    table = {"fpn": {"low": {0: 0.10, 1: 0.12}, "high": {0: 0.30, 1: 0.32}},
             "pafpn": {"low": {0: 0.08, 1: 0.09}, "high": {0: 0.25, 1: 0.27}}}
    results = summarise(table, FidelitySettings(graphs=("fpn", "pafpn"), low=Fidelity(2, 64, 0.5),
                                                high=Fidelity(3, 64, 0.5), average_last=2))
    assert results["score"] == "mean bbox mAP of the last 2 epochs" and results["measurements"] == []
    from necksearch.search.fidelity_report import results_markdown
    assert "3 ep, 64², 0.5 of the data, 3 seeds; score: mean bbox mAP of the last 2 epochs" in results_markdown(results)


def test_the_score_is_the_results_choice_not_stored_with_the_run(tmp_path):
    """A run started with --average-last stores no score: --summary, --resume and the rankers' judge (which compares
    with the final mAP) each use their own."""
    from necksearch.search.fidelity import load, save
    settings = FidelitySettings(graphs=("fpn", "pafpn"), name="grid", runs_dir=str(tmp_path), average_last=2)
    save(settings, {})
    assert "average_last" not in json.loads((tmp_path / "grid" / "fidelity.json").read_text())["settings"]
    assert load(tmp_path / "grid").average_last == 1


def test_the_whole_dataset_is_described_as_all_of_it():
    table = {"fpn": {"low": {0: 0.10, 1: 0.12}, "high": {0: 0.30}}, "pafpn": {"low": {0: 0.08, 1: 0.09}, "high": {0: 0.2}},
             "mine": {"low": {0: 0.02, 1: 0.01}, "high": {0: 0.05}}}
    results = summarise(table, FidelitySettings(graphs=("fpn", "pafpn", "mine"), low=LOW,
                                                high=Fidelity(2, 64, 1.0)))
    assert results["measurements"][0]["high"] == "2 ep, 64², all the data"


@pytest.mark.parametrize("text, message", [("1,128", "EPOCHS,IMAGE_SIZE,DATA_FRACTION"),
                                           ("a,128,0.5", "EPOCHS,IMAGE_SIZE,DATA_FRACTION"),
                                           ("0,128,0.5", "--epochs must be at least 1"),
                                           ("1,16,0.5", "--image-size must be between 32 and 4096"),
                                           ("1,128,1.5", "--data-fraction must be in")])
def test_bad_fidelity_strings(text, message):
    with pytest.raises(NeckSearchError, match=message) as caught:
        Fidelity.parse(text, "--low")
    assert "--low" in str(caught.value)


@pytest.mark.parametrize("argv, message", [
    (["fpn", "nope"], "nope"),
    (["fpn", "pafpn", "--seeds", "1"], "--seeds must be at least 2"),
    (["fpn", "pafpn", "--low", "2,128,0.5", "--high", "2,128,0.5"], "--high must be a higher fidelity"),
    (["fpn", "pafpn", "--low", "2,128,0.5", "--high", "3,96,0.5"], "--high must be a higher fidelity"),
    (["fpn"], "at least 2 graphs"),
    (["fpn", "fpn"], "given twice"),
    (["fpn", "pafpn", "--samples", "-1"], "--samples"),
    (["fpn", "pafpn", "--low", "1,64,0.5", "--high", "2,64,0.5", "--average-last", "2"],
     "--average-last 2 is more epochs than the 1 trained"),
    (["fpn", "pafpn", "--average-last", "0"], "--average-last must be at least 1"),
    (["--zero-cost", "--name", "x", "--average-last", "2"], "--zero-cost and --supernet judge rankers against"),
    (["fpn", "pafpn", "--name", "a/b"], "--name"),
    (["fpn", "pafpn", "--data-root", "/no/such/data/root"], "data root /no/such/data/root does not exist"),
])
def test_bad_input_is_refused_before_ray_starts(capsys, no_ray, tmp_path, argv, message):
    line = cli_error(capsys, "fidelity", *argv, "--runs-dir", tmp_path)
    assert message in line


def test_a_graph_outside_the_space_is_refused(capsys, no_ray, tmp_path):
    from necksearch.graph.presets import load_preset
    graph = load_preset("fpn").with_channels(128)  # the default space fixes the width at 256
    path = tmp_path / "narrow.yaml"
    path.write_text(graph.to_yaml())
    assert "not a point of space" in cli_error(capsys, "fidelity", "pafpn", path, "--runs-dir", tmp_path)


def test_resume_of_nothing_is_refused(capsys, no_ray, tmp_path):
    assert "holds no fidelity run" in cli_error(capsys, "fidelity", "--resume", "--name", "x", "--runs-dir", tmp_path)
    assert "not a readable fidelity settings file" in cli_error(capsys, "fidelity", "--summary", "--name", "x",
                                                                "--runs-dir", tmp_path)
    assert "--summary needs --name" in cli_error(capsys, "fidelity", "--summary")


#: Three graphs, so that each ranking has pairs to agree on (two give no rank correlation).
GRAPHS = ("fpn", "pafpn", "fpn_carafe")


@pytest.mark.slow
def test_fidelity_run_writes_results_and_resumes(tmp_path, search_data_root):
    argv = [sys.executable, "-m", "necksearch", "fidelity", *GRAPHS, "--name", "fid", "--runs-dir",
            str(tmp_path), "--data-root", str(search_data_root), "--low", "1,64,0.5", "--high", "2,64,0.5",
            "--seeds", "2"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run_dir = tmp_path / "fid"
    results = json.loads((run_dir / "fidelity_results.json").read_text())
    for name in GRAPHS:
        for level in ("low", "high"):
            assert results["graphs"][name][level]["n"] == 2
            assert math.isfinite(results["graphs"][name][level]["mean"])
    assert results["seeds"] == {"low": 2, "high": 2}
    for agreement in (results["low_to_high"], results["seed_to_seed"]["low"], results["seed_to_seed"]["high"]):
        assert -1 <= agreement["tau"] <= 1 and -1 <= agreement["rho"] <= 1, results  # finite: the means differ
    assert (run_dir / "fidelity.png").stat().st_size > 1000 and "Kendall" in (run_dir / "fidelity_results.md").read_text()
    for sub in ("low-seed0", "low-seed1", "high-seed0", "high-seed1"):  # one shared storage, a study each
        trials = load_trials(run_dir, sub)
        assert sorted(t.user_attrs["fixed_point"] for t in trials) == sorted(GRAPHS)
        assert {t.state.name for t in trials} == {"COMPLETE"}
        assert all(t.user_attrs["cpu_seconds"] > 0 for t in trials)  # a training's cost, as rankers' are counted
    again = subprocess.run(argv[:4] + ["--resume", "--name", "fid", "--runs-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("nothing to train") == 4 and "estimate" not in again.stdout
    assert json.loads((run_dir / "fidelity_results.json").read_text())["graphs"] == results["graphs"]
    (run_dir / "fidelity_results.json").unlink()
    from necksearch.cli import main
    assert main(["fidelity", "--summary", "--name", "fid", "--runs-dir", str(tmp_path)]) == 0
    assert json.loads((run_dir / "fidelity_results.json").read_text())["graphs"] == results["graphs"]
    zero_cost = subprocess.run(argv[:4] + ["--zero-cost", "--init-seeds", "1", "--name", "fid", "--runs-dir",
                                           str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert zero_cost.returncode == 0, zero_cost.stderr[-3000:]
    judged = json.loads((run_dir / "zero_cost_results.json").read_text())
    scores = judged["scores"]["0"]
    assert sorted(scores) == sorted(GRAPHS) and judged["graphs"] == 3
    for name in GRAPHS:
        assert all(math.isfinite(scores[name][key]) for key in ("synflow", "naswot", "grad_norm", "zico", "params"))
    assert scores["pafpn"]["params"] > scores["fpn"]["params"]  # PAFPN adds the bottom-up convs
    assert judged["cpu_s_per_graph"]["0"] > 0
    assert -1 <= judged["correlation"]["params"]["0"]["tau"] <= 1  # three graphs of different sizes: a finite τ
    assert [entry["ranker"] for entry in judged["rankers"]][:1] == ["params"]


def test_scatter_names_of_close_points_do_not_overlap():
    from necksearch.search.fidelity_report import _label_positions
    points = [(0.25, 0.30), (0.25, 0.30), (0.0, 0.0)]
    first, second, alone = _label_positions(points)
    assert first[1] == 0.30 and second[1] > first[1] + 0.001  # the second name moved up past the first
    assert alone[1] == 0.0  # far from the others: beside its point
