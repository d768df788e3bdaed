"""``--data DIR`` (alias ``--data-root``) is one option of train, search, fidelity and reproduce, resolved by one
function: a misfit in the dataset is the same one line from each, before Ray starts and before any run is written."""
import pytest

from necksearch.train.configs import SCRATCH_CONFIG
from tests.helpers import coco_splits, write_coco
from tests.search.helpers import cli_error


@pytest.fixture
def outside_box(tmp_path):
    """The tiny dataset with annotation 2's box reaching past its image, and the line that refuses it."""
    splits = coco_splits()
    splits["train"]["annotations"][1]["bbox"] = [24, 4, 10, 8]
    root = write_coco(tmp_path / "ds", splits)
    return root, (f"{root / 'annotations' / 'instances_train.json'}: annotation 2 (image 2.png): box [24, 4, 10, 8] "
                  "lies outside the 32×24 image by more than 1 px")


@pytest.mark.parametrize("command", [
    ["train", "--work-dir", "{runs}/train"],
    ["search", "--runs-dir", "{runs}", "--name", "s"],
    ["fidelity", "fpn", "pafpn", "--runs-dir", "{runs}", "--name", "f"],
    ["reproduce", "fpn", "--config", str(SCRATCH_CONFIG), "--runs-dir", "{runs}", "--name", "r"],
])
@pytest.mark.parametrize("flag", ["--data", "--data-root"])
def test_each_command_refuses_the_same_misfit(capsys, no_ray, tmp_path, outside_box, command, flag):
    root, message = outside_box
    runs = tmp_path / "runs"
    line = cli_error(capsys, *[arg.format(runs=runs) for arg in command], flag, root)
    assert line == f"necksearch: error: {message}"
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.slow  # builds data/trees/ on first use (a few seconds), then times a few training iterations per graph
def test_the_tree_proxy_plans_a_search_on_real_imagery(tmp_path):
    """The tree proxy's config names data/trees/, built on first use from the deepforest package; a search on it
    checks every input, times training iterations on the tree tiles and prints its plan."""
    import subprocess
    import sys
    from necksearch.train.configs import CONFIG_DIR
    config = CONFIG_DIR / "proxy" / "faster-rcnn_effnet-lite0_fpn_trees.py"
    done = subprocess.run([sys.executable, "-m", "necksearch", "search", "--config", str(config), "--epochs", "6",
                           "--num-trials", "2", "--fixed-points", "fpn", "--runs-dir", str(tmp_path), "--name", "t",
                           "--dry-run"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "faster-rcnn_effnet-lite0_fpn_trees.py" in done.stdout and "estimate:" in done.stdout
    assert not (tmp_path / "t").exists()  # a dry run writes no run
