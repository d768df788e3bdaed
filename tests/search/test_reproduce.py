"""``necksearch reproduce NAME``: the preset → config table read from configs/, its user errors (exit 2, one
line, before Ray starts), and one distributed trial (two gloo processes on CPU) recorded in a study."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from necksearch.search.reproduce import published_configs, reproduce_settings
from necksearch.train.configs import CONFIG_DIR

from tests.search.helpers import cli_error, load_trials

PROXY = CONFIG_DIR / "proxy" / "faster-rcnn_r18-tiny_fpn_synth.py"
PUBLISHED = {
    "fpn": "mask-rcnn_r50_fpn_1x_coco.py",
    "pafpn": "mask-rcnn_r50_pafpn_1x_coco.py",
    "a2fpn": "mask-rcnn_r50_a2fpn_1x_coco.py",
    "a2fpn_lite": "mask-rcnn_r50_a2fpn-lite_1x_coco.py",
    "augfpn": "faster-rcnn_r50_augfpn_1x_coco.py",
    "fpt": "mask-rcnn_r50_fpt_1x_coco.py",
    "mssa_fpn": "cascade-mask-rcnn_r50_mssa-fpn_1x_coco.py",
    "msca_fpn": "cascade-mask-rcnn_r50_msca-fpn_1x_coco.py",
}
#: The found necks' COCO recipes (necksearch/presets/found/), reproducible by name like the papers'.
FOUND = {
    "found_fpt_gt_rt_srs": "faster-rcnn_r50_found-fpt-gt-rt-srs_1x_coco.py",
    "found_fpt_gt_rt_srs_cs": "faster-rcnn_r50_found-fpt-gt-rt-srs-cs_1x_coco.py",
    "found_fpt_st_rt_srs_cs": "faster-rcnn_r50_found-fpt-st-rt-srs-cs_1x_coco.py",
}


def user_error(capsys, *argv):
    return cli_error(capsys, "reproduce", *argv)


def test_discovery_reads_each_configs_neck_graph():
    found = published_configs()
    assert {name: path.name for name, path in found.items()} == {**PUBLISHED, **FOUND}
    assert all(path.parent == CONFIG_DIR for path in found.values())  # top level only, not proxy/


def test_settings_are_one_fixed_trial_at_full_fidelity(tmp_path):
    settings = reproduce_settings("a2fpn", runs_dir=str(tmp_path))
    assert Path(settings.config).name == PUBLISHED["a2fpn"]
    assert (settings.num_trials, settings.max_concurrent, settings.fixed_points) == (1, 1, ("a2fpn",))
    assert (settings.image_size, settings.data_fraction, settings.scheduler) == (None, 1.0, "none")
    assert settings.epochs == 12 and settings.workers == 1 and settings.gpus_per_trial == 0
    assert settings.name.startswith("reproduce-a2fpn-") and settings.space == "default"
    gpus = reproduce_settings("fpn", gpus=4, epochs=2, run_name="r", runs_dir=str(tmp_path))
    assert (gpus.workers, gpus.gpus_per_trial, gpus.epochs, gpus.name) == (4, 4.0, 2, "r")
    assert gpus.fidelity()["workers"] == 4 and "workers" not in settings.fidelity()


def test_another_recipe_takes_its_own_epochs(tmp_path):
    settings = reproduce_settings("pafpn", config=str(PROXY), runs_dir=str(tmp_path))
    assert settings.config == str(PROXY) and settings.epochs == 5 and settings.fixed_points == ("pafpn",)


def test_an_unknown_name_lists_the_known_ones(capsys, no_ray, tmp_path):
    line = user_error(capsys, "no_such_neck", "--runs-dir", tmp_path)
    assert "no_such_neck" in line and all(name in line for name in PUBLISHED)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_preset_with_a_config_is_refused(capsys, no_ray, tmp_path):
    assert "no_such_neck" in user_error(capsys, "no_such_neck", "--config", PROXY, "--runs-dir", tmp_path)


def test_a_missing_data_root_is_named_before_ray_starts(capsys, no_ray, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the recipe's relative data/coco/ is not here
    line = user_error(capsys, "fpn", "--runs-dir", tmp_path / "runs", "--name", "r")
    assert "data root" in line and "data/coco" in line and "--data DIR" in line
    assert not (tmp_path / "runs" / "r").exists()


@pytest.mark.parametrize("argv, needle", [
    (["--gpus", "2"], "--gpus 2"),                      # this machine has no GPUs (CI, this test's machine)
    (["--gpus", "2", "--workers", "3"], "--workers 3"),  # one process per GPU
    (["--workers", "0"], "--workers"),
    (["--image-size", "8"], "--image-size"),
])
def test_bad_options(capsys, no_ray, tmp_path, argv, needle):
    import torch
    if argv[:2] == ["--gpus", "2"] and len(argv) == 2 and torch.cuda.device_count() >= 2:
        pytest.skip("this machine has 2 GPUs")
    assert needle in user_error(capsys, "fpn", "--config", PROXY, "--runs-dir", tmp_path, *argv)


@pytest.mark.slow
def test_two_processes_train_one_trial_recorded_in_the_study(tmp_path, search_data_root):
    runs = tmp_path / "runs"
    done = subprocess.run([sys.executable, "-m", "necksearch", "reproduce", "fpn", "--config", str(PROXY),
                           "--data-root", str(search_data_root), "--epochs", "1", "--workers", "2",
                           "--image-size", "64", "--name", "r", "--runs-dir", str(runs)],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    run_dir = runs / "r"
    trials = load_trials(run_dir, "r")
    assert len(trials) == 1 and trials[0].state.name == "COMPLETE"
    trial = trials[0]
    assert trial.user_attrs["fixed_point"] == "fpn" and trial.user_attrs["epochs_reached"] == 1
    assert trial.user_attrs["fidelity"]["workers"] == 2 and trial.user_attrs["fidelity"]["image_size"] == 64
    work_dir = run_dir / "trials" / "0000"
    log = "\n".join(p.read_text() for p in work_dir.glob("*/*.log"))
    assert "Distributed training: True" in log and "GPU number: 2" in log  # mmengine's world size
    assert "dist_cfg: {'backend': 'gloo'}" in log
    assert "Epoch(train) [1][2/2]" in log  # 16 images, batch 4, two ranks: two iterations each
    reports = [json.loads(line) for line in (work_dir / "reports.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in reports] == [1]
    assert reports[0]["node"] and trial.user_attrs["node"] == reports[0]["node"]  # the parent named its node
    assert (run_dir / "results.json").is_file()
    assert not (work_dir / "failure.json").exists()


def test_the_relay_reads_each_complete_new_line_once(tmp_path):
    from necksearch.search.engine.distributed import ReportRelay
    path = tmp_path / "reports.jsonl"
    path.write_text('{"epoch": 1, "node": "n0"}\n')  # a previous attempt's: re-announced elsewhere, not relayed
    relay = ReportRelay(path)
    assert relay.new_reports() == []
    with open(path, "a") as fh:
        fh.write('{"epoch": 2, "node": "n0"}\n{"epoch": 3, "no')  # the last line is still being written
    assert [r["epoch"] for r in relay.new_reports()] == [2]
    with open(path, "a") as fh:
        fh.write('de": "n0"}\n')
    assert [r["epoch"] for r in relay.new_reports()] == [3] and relay.new_reports() == []
