"""``necksearch data synth|trees --out DIR``: write the dataset, print its path, counts on stderr; mistakes exit 2."""
import json

import pytest

from necksearch.cli import main

SMALL = ["--train", "3", "--val", "2", "--size", "96", "128"]


def test_synth_writes_the_dataset_and_prints_its_path(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["data", "synth", "--out", str(out), "--seed", "3", *SMALL]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert "[synth] 5/5 images" in captured.err and "train: 3 images" in captured.err
    stamp = json.loads((out / "synth.json").read_text())
    assert (stamp["seed"], stamp["num_train"], stamp["num_val"], stamp["image_hw"]) == (3, 3, 2, [96, 128])
    assert len(json.loads((out / "annotations" / "instances_val.json").read_text())["images"]) == 2


def test_synth_dense_style_writes_one_class(tmp_path, capsys):
    out = tmp_path / "dense"
    assert main(["data", "synth", "--out", str(out), "--style", "dense", *SMALL]) == 0
    stamp = json.loads((out / "synth.json").read_text())
    assert (stamp["style"], stamp["classes"]) == ("dense", ["object"])
    val = json.loads((out / "annotations" / "instances_val.json").read_text())
    assert [c["name"] for c in val["categories"]] == ["object"] and len(val["annotations"]) >= 2 * 8


def test_synth_refuses_a_non_empty_dir_unless_forced(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["data", "synth", "--out", str(out), *SMALL]) == 0
    capsys.readouterr()
    assert main(["data", "synth", "--out", str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert err.startswith("necksearch: error: ") and str(out) in err and "--force" in err and len(err.splitlines()) == 1
    assert main(["data", "synth", "--out", str(out), "--force", "--seed", "1", *SMALL]) == 0
    assert json.loads((out / "synth.json").read_text())["seed"] == 1


@pytest.mark.parametrize("args, message", [
    (["--size", "20", "20"], "got (20, 20)"),
    (["--train", "0"], "at least 1 image"),
    (["--seed", "-2"], "got -2"),
    (["--style", "crowded"], "unknown synthetic style 'crowded' (known: shapes, dense)"),
])
def test_synth_mistakes_exit_2_with_one_line(tmp_path, capsys, args, message):
    assert main(["data", "synth", "--out", str(tmp_path / "ds"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("necksearch: error: ") and message in err
    assert list(tmp_path.iterdir()) == []


def test_trees_prints_counts_then_refuses_a_non_empty_dir_with_one_line(tmp_path, capsys):
    out = tmp_path / "trees"
    assert main(["data", "trees", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert captured.err == "[trees] train: 233 tiles, 1898 boxes; val: 60 tiles, 865 boxes\n"
    assert main(["data", "trees", "--out", str(out), "--tile", "512"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("necksearch: error: ") and str(out) in err and "--force" in err and len(err.splitlines()) == 1
