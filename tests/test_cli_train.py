"""``necksearch train``: bad input exits 2 with one line and no traceback; a tiny run writes metrics and
checkpoints; a stopped-and-resumed run reaches the same epoch-2 metrics as an uninterrupted one."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from necksearch.data import make_synthetic_coco

PROXY = Path(__file__).resolve().parents[1] / "configs" / "proxy" / "faster-rcnn_r18-tiny_fpn_synth.py"


def run_cli(*args, cwd=None, timeout=600):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "necksearch", "train", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    """8 train / 4 val images of 128×128: one iteration per epoch with the proxy's batch of 8."""
    return make_synthetic_coco(tmp_path_factory.mktemp("tiny") / "ds", seed=0, num_train=8, num_val=4,
                               image_hw=(128, 128))


def _assert_user_error(result, *needles):
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("necksearch: error:") and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _config(tmp_path, body):
    path = tmp_path / "bad_config.py"
    path.write_text(f"_base_ = {str(PROXY)!r}\n{body}\n")
    return path


def test_missing_data_root(tmp_path):
    _assert_user_error(run_cli("--data-root", tmp_path / "nowhere", "--work-dir", tmp_path / "w"), "data root")


def test_corrupt_annotation_file(tmp_path, tiny_root):
    import shutil
    root = tmp_path / "ds"
    shutil.copytree(tiny_root, root)
    ann = root / "annotations" / "instances_train.json"
    ann.write_text(ann.read_text()[:500])
    _assert_user_error(run_cli("--data-root", root, "--work-dir", tmp_path / "w"), "corrupt or truncated",
                       "instances_train.json")


def test_unknown_graph(tmp_path, tiny_root):
    _assert_user_error(run_cli("--graph", "no_such_neck", "--data-root", tiny_root, "--work-dir", tmp_path / "w"),
                       "no_such_neck")


def test_graph_levels_do_not_match_backbone(tmp_path, tiny_root):
    config = _config(tmp_path, "model = dict(backbone=dict(num_stages=4, out_indices=(1, 2, 3)), "
                               "neck=dict(in_channels=[64, 128, 256]))")
    _assert_user_error(run_cli(config, "--data-root", tiny_root, "--work-dir", tmp_path / "w"),
                       "4 backbone levels", "3")


def test_neck_in_channels_do_not_match_backbone(tmp_path, tiny_root):
    config = _config(tmp_path, "model = dict(neck=dict(in_channels=[256, 512, 1024, 2048]))")
    _assert_user_error(run_cli(config, "--data-root", tiny_root, "--work-dir", tmp_path / "w"), "in_channels")


def test_unknown_config_path(tmp_path):
    _assert_user_error(run_cli(tmp_path / "nope.py"), "unknown config")


def test_untrusted_checkpoint_is_refused_on_resume(tmp_path, tiny_root):
    """A work dir whose last checkpoint holds an arbitrary pickle: --resume refuses it (exit 2)."""
    import torch

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    work = tmp_path / "w"
    work.mkdir()
    torch.save({"meta": {"x": Evil()}, "state_dict": {}}, work / "epoch_1.pth")
    (work / "last_checkpoint").write_text(str(work / "epoch_1.pth"))
    result = run_cli("--resume", "--data-root", tiny_root, "--work-dir", work, "--epochs", "1")
    _assert_user_error(result, "refusing to load checkpoint", "--trust-checkpoint")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.slow
def test_resume_reaches_the_same_metrics(tmp_path, tiny_root):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    first = run_cli("--epochs", "2", "--seed", "3", "--data-root", tiny_root, "--work-dir", straight)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Epoch(train)" in first.stderr  # progress on stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["last"]["epoch"] == 2 and "coco/bbox_mAP" in summary["last"]["metrics"]
    assert (straight / "epoch_1.pth").is_file() and (straight / "epoch_2.pth").is_file()
    lines = (straight / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]

    # A run killed right after its epoch-1 checkpoint: that checkpoint, mmengine's record of it, epoch 1's metrics.
    # (Not a 1-epoch run resumed with --epochs 2: --epochs stretches the LR schedule, so that is another schedule.)
    (stopped / "metrics").mkdir(parents=True)
    shutil.copy(straight / "epoch_1.pth", stopped / "epoch_1.pth")
    (stopped / "last_checkpoint").write_text(str(stopped / "epoch_1.pth"))
    shutil.copy(straight / "metrics" / "epoch_1.json", stopped / "metrics" / "epoch_1.json")
    (stopped / "metrics.jsonl").write_text(lines[0] + "\n")
    resumed = run_cli("--epochs", "2", "--seed", "3", "--resume", "--data-root", tiny_root, "--work-dir", stopped)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resumed" in resumed.stderr or "resumed" in resumed.stderr.lower()
    assert (stopped / "metrics" / "epoch_1.json").read_text() == (straight / "metrics" / "epoch_1.json").read_text()
    assert (stopped / "metrics" / "epoch_2.json").read_text() == (straight / "metrics" / "epoch_2.json").read_text()
    assert (stopped / "metrics.jsonl").read_text() == (straight / "metrics.jsonl").read_text()
    # The metrics of so short a run can be all zero: the weights themselves must be equal too.
    import torch
    from necksearch.mmdet.checkpoint import load_local
    a = load_local(str(straight / "epoch_2.pth"))["state_dict"]
    b = load_local(str(stopped / "epoch_2.pth"))["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
