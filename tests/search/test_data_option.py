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


@pytest.mark.slow  # 13 one- or two-epoch trainings at 64² on a tenth of the tree tiles: 6 min beside 2 trainings
def test_search_confirm_and_fidelity_run_end_to_end_on_the_tree_proxy(tmp_path):
    """Issue 21: the tree proxy's commands end to end at a tiny fidelity (1 epoch, 64², a tenth of the tiles): a
    search of fpn and two draws, its best draw confirmed over 2 seeds against fpn, and a fidelity run of two published
    necks over 2 seeds at two fidelities; each writes its results."""
    import json
    import subprocess
    import sys
    from necksearch.train.configs import CONFIG_DIR
    config = str(CONFIG_DIR / "proxy" / "faster-rcnn_effnet-lite0_fpn_trees.py")

    def necksearch(*args):
        done = subprocess.run([sys.executable, "-m", "necksearch", *map(str, args)], capture_output=True, text=True,
                              timeout=1200)
        assert done.returncode == 0, (args[0], done.stdout[-2000:], done.stderr[-3000:])
        return done

    necksearch("search", "--config", config, "--epochs", "1", "--image-size", "64", "--data-fraction", "0.1",
               "--num-trials", "3", "--fixed-points", "fpn", "--runs-dir", tmp_path, "--name", "s")
    necksearch("confirm", tmp_path / "s", "--top", "1", "--seeds", "2", "--against", "fpn")
    confirmed = json.loads((tmp_path / "s" / "confirm.json").read_text())
    assert sorted(g["published"] for g in confirmed["graphs"].values()) == [False, True]
    assert all(len(g["maps"]) == 2 for g in confirmed["graphs"].values())
    necksearch("fidelity", "fpn", "pafpn", "--config", config, "--low", "1,64,0.1", "--high", "2,64,0.1", "--seeds",
               "2", "--runs-dir", tmp_path, "--name", "f")
    fidelity = json.loads((tmp_path / "f" / "fidelity_results.json").read_text())
    assert fidelity["config"].endswith("faster-rcnn_effnet-lite0_fpn_trees.py")
    assert set(fidelity["graphs"]) == {"fpn", "pafpn"}
    assert all(stats[level]["n"] == 2 for stats in fidelity["graphs"].values() for level in ("low", "high"))
