"""``necksearch search``: each user mistake exits 2 with one line on stderr and no traceback, before Ray starts
(``engine.run.start_ray`` is replaced by one that fails the test)."""
import json

import pytest

from necksearch.cli import main
from necksearch.search.core.settings import SETTINGS_FILE, SearchSettings
from tests.search.helpers import RayStarted, cli_error


@pytest.fixture(autouse=True)
def _no_ray(no_ray):
    """Every test here: Ray must not start."""


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    from necksearch.data import make_synthetic_coco
    return make_synthetic_coco(tmp_path_factory.mktemp("tiny") / "ds", seed=0, num_train=4, num_val=2,
                               image_hw=(64, 64))


def user_error(capsys, *argv):
    return cli_error(capsys, "search", *argv)


def test_unknown_space(capsys, tmp_path):
    line = user_error(capsys, "no_such_space", "--name", "a", "--runs-dir", tmp_path)
    assert "no_such_space" in line
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("argv, needle", [
    (["--num-trials", "0"], "--num-trials"),
    (["--objectives", "params"], "--objectives"),
    (["--objectives", "map,map"], "--objectives"),
    (["--sampler", "nsga2"], "--sampler nsga2"),
    (["--data-fraction", "2"], "--data-fraction"),
    (["--name", "a/b"], "--name"),
])
def test_bad_option(capsys, tmp_path, argv, needle):
    assert needle in user_error(capsys, "--runs-dir", tmp_path, *argv)
    assert list(tmp_path.iterdir()) == []


def test_resume_of_a_name_that_does_not_exist(capsys, tmp_path):
    line = user_error(capsys, "--resume", "--name", "ghost", "--runs-dir", tmp_path)
    assert str(tmp_path / "ghost") in line and SETTINGS_FILE in line


def test_resume_without_a_name_and_no_run(capsys, tmp_path):
    assert "--resume" in user_error(capsys, "--resume", "--runs-dir", tmp_path)


def test_resume_with_a_setting_that_differs(capsys, tmp_path):
    SearchSettings(name="old", runs_dir=str(tmp_path), epochs=3).save()
    line = user_error(capsys, "--resume", "--name", "old", "--runs-dir", tmp_path, "--epochs", "5")
    assert "--epochs" in line and "--resume" in line


def test_a_run_directory_that_holds_a_search_is_not_overwritten(capsys, tmp_path):
    path = SearchSettings(name="taken", runs_dir=str(tmp_path), num_trials=9).save()
    before = path.read_text()
    line = user_error(capsys, "--name", "taken", "--runs-dir", tmp_path, "--num-trials", "3")
    assert "already holds a search" in line and "--resume" in line
    assert path.read_text() == before and json.loads(before)["num_trials"] == 9


def test_a_missing_data_root(capsys, tmp_path):
    line = user_error(capsys, "--name", "d", "--runs-dir", tmp_path / "runs", "--data-root", tmp_path / "nope")
    assert str(tmp_path / "nope") in line
    assert not (tmp_path / "runs" / "d" / SETTINGS_FILE).exists()  # fixing the option needs no --resume


def test_a_bad_storage(capsys, tmp_path, tiny_root):
    line = user_error(capsys, "--name", "st", "--runs-dir", tmp_path, "--data-root", tiny_root,
                      "--storage", "redis://localhost/0")
    assert "--storage" in line and "'redis'" in line


@pytest.mark.parametrize("storage", ["study.txt", "redis://localhost/0"])
def test_a_bad_storage_leaves_no_run_behind(capsys, tmp_path, tiny_root, storage):
    user_error(capsys, "--name", "st", "--runs-dir", tmp_path, "--data-root", tiny_root, "--storage", storage)
    assert not (tmp_path / "st" / SETTINGS_FILE).exists()  # the corrected command needs no --resume


def test_an_unknown_fixed_point(capsys, tmp_path, tiny_root):
    line = user_error(capsys, "--name", "fp", "--runs-dir", tmp_path, "--data-root", tiny_root,
                      "--fixed-points", "fpn,no_such_preset")
    assert "no_such_preset" in line
    assert not (tmp_path / "fp" / SETTINGS_FILE).exists()


def test_good_options_get_as_far_as_starting_ray(capsys, tmp_path, tiny_root):
    """The control case: the stand-in is reached when nothing is wrong (so the tests above prove something);
    nothing is written before Ray has passed the preflight against its nodes."""
    with pytest.raises(RayStarted):
        main(["search", "--name", "ok", "--runs-dir", str(tmp_path), "--data-root", str(tiny_root),
              "--num-trials", "1"])
    assert not (tmp_path / "ok" / SETTINGS_FILE).exists()


def test_resume_with_the_same_objectives_given_again(capsys, tmp_path, tiny_root):
    SearchSettings(name="mo", runs_dir=str(tmp_path), objectives=("map", "params"), data_root=str(tiny_root)).save()
    try:
        status = main(["search", "--resume", "--name", "mo", "--runs-dir", str(tmp_path), "--objectives", "map,params"])
    except RayStarted:
        return
    raise AssertionError(f"exit {status}: {capsys.readouterr().err.strip()}")
