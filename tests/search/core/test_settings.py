"""``SearchSettings``: every bad option is refused naming the option; the run directory's ``search.json``
round-trips; ``--resume`` may change only the RESUMABLE settings; ``latest_run`` finds the newest run."""
import json
import os

import pytest

from necksearch.errors import NeckSearchError
from necksearch.search.core.settings import RESUMABLE, SETTINGS_FILE, SearchSettings, latest_run, parse_objectives


def _settings(tmp_path, **kwargs):
    return SearchSettings(**dict(dict(name="run", runs_dir=str(tmp_path)), **kwargs))


# ---------------------------------------------------------------------------------------------- checked()

@pytest.mark.parametrize("field, value, option", [
    ("num_trials", 0, "--num-trials"),
    ("num_trials", -3, "--num-trials"),
    ("num_trials", True, "--num-trials"),
    ("num_trials", "6", "--num-trials"),
    ("max_concurrent", 0, "--max-concurrent"),
    ("epochs", 0, "--epochs"),
    ("image_size", 16, "--image-size"),
    ("grace_epochs", 0, "--grace-epochs"),
    ("reduction_factor", 1, "--reduction-factor"),
    ("retries", -1, "--retries"),
    ("seed", -1, "--seed"),
    ("cpus_per_trial", 0.0, "--cpus-per-trial"),
    ("cpus_per_trial", float("nan"), "--cpus-per-trial"),
    ("gpus_per_trial", -0.5, "--gpus-per-trial"),
    ("data_fraction", 0.0, "--data-fraction"),
    ("data_fraction", -0.1, "--data-fraction"),
    ("data_fraction", 1.5, "--data-fraction"),
    ("data_fraction", float("nan"), "--data-fraction"),
    ("max_hours", 0.0, "--max-hours"),
    ("max_trial_hours", -1.0, "--max-trial-hours"),
    ("max_trial_hours", float("inf"), "--max-trial-hours"),
    ("sampler", "grid", "--sampler"),
    ("scheduler", "hyperband", "--scheduler"),
])
def test_checked_refuses_a_bad_value_naming_the_option(tmp_path, field, value, option):
    with pytest.raises(NeckSearchError) as info:
        _settings(tmp_path, **{field: value}).checked()
    assert option in str(info.value)


@pytest.mark.parametrize("objectives, needle", [
    ("params", "start with map"),
    ("params,map", "start with map"),
    (("flops", "map"), "start with map"),
    ("map,map", "each once"),
    ("map,params,params", "each once"),
    ("map,accuracy", "'accuracy'"),
    ("", "start with map"),
])
def test_checked_refuses_bad_objectives(tmp_path, objectives, needle):
    with pytest.raises(NeckSearchError) as info:
        _settings(tmp_path, objectives=objectives).checked()
    assert "--objectives" in str(info.value) and needle in str(info.value)


def test_nsga2_needs_several_objectives(tmp_path):
    with pytest.raises(NeckSearchError, match="--sampler nsga2"):
        _settings(tmp_path, sampler="nsga2", objectives="map").checked()
    assert _settings(tmp_path, sampler="nsga2", objectives="map,params").checked().objectives == ("map", "params")


@pytest.mark.parametrize("name", ["", "a/b", "../up", ".hidden", "-dash", "with space", "x" * 101, "é"])
def test_checked_refuses_a_bad_name(tmp_path, name):
    with pytest.raises(NeckSearchError, match="--name"):
        _settings(tmp_path, name=name).checked()


def test_checked_refuses_a_name_with_a_trailing_newline(tmp_path):
    with pytest.raises(NeckSearchError, match="--name"):
        _settings(tmp_path, name="run\n").checked()


def test_checked_accepts_good_values_and_names_the_run(tmp_path):
    settings = SearchSettings(space="search_spaces/default.yaml", runs_dir=str(tmp_path), objectives="map, flops",
                              data_fraction=1.0, num_trials=1, gpus_per_trial=0.5).checked()
    assert settings.name.startswith("default-") and settings.objectives == ("map", "flops")
    assert settings.directions == ("max", "min")
    assert settings.run_dir == tmp_path / settings.name
    for name in ("a", "A9", "run_1.b-2", "x" * 100):
        assert _settings(tmp_path, name=name).checked().name == name


# ---------------------------------------------------------------------------------------------- parse_objectives

@pytest.mark.parametrize("value, expected", [
    ("map", ("map",)),
    ("map,params", ("map", "params")),
    (" map , flops ,", ("map", "flops")),
    (["map", "latency"], ("map", "latency")),
    (("map", "params", "flops", "latency"), ("map", "params", "flops", "latency")),
])
def test_parse_objectives(value, expected):
    assert parse_objectives(value) == expected


@pytest.mark.parametrize("value", ["", "params", "map,map", "map,speed", ["flops"], ",,"])
def test_parse_objectives_refuses(value):
    with pytest.raises(NeckSearchError, match="--objectives"):
        parse_objectives(value)


# ---------------------------------------------------------------------------------------------- fidelity

def test_fidelity_holds_what_makes_trials_comparable(tmp_path):
    settings = _settings(tmp_path, epochs=4, image_size=96, data_fraction=0.25, seed=3,
                         config=str(tmp_path / "cfgs" / "proxy.py"), num_trials=9, max_concurrent=5)
    assert settings.fidelity() == {"epochs": 4, "image_size": 96, "data_fraction": 0.25, "config": "proxy.py",
                                   "seed": 3}
    assert _settings(tmp_path).fidelity()["config"] is None
    # options that do not change a trial's number are not part of it
    assert _settings(tmp_path, num_trials=1, retries=4, max_concurrent=7).fidelity() == _settings(tmp_path).fidelity()
    assert _settings(tmp_path, epochs=5).fidelity() != _settings(tmp_path).fidelity()


# ---------------------------------------------------------------------------------------------- save / load

def test_save_load_round_trip(tmp_path):
    settings = _settings(tmp_path, objectives="map,params", sampler="nsga2", fixed_points=("fpn", "pafpn"),
                         storage="sqlite:////tmp/x.db", address="auto", epochs=2).checked()
    path = settings.save()
    assert path == tmp_path / "run" / SETTINGS_FILE and path.is_file()
    loaded = SearchSettings.load(tmp_path / "run")
    assert loaded == settings
    assert isinstance(loaded.objectives, tuple) and isinstance(loaded.fixed_points, tuple)
    assert json.loads(path.read_text())["objectives"] == ["map", "params"]


def test_load_keeps_no_fixed_points_as_none(tmp_path):
    _settings(tmp_path).save()
    assert SearchSettings.load(tmp_path / "run").fixed_points is None


def test_load_of_a_missing_settings_file_names_the_directory(tmp_path):
    with pytest.raises(NeckSearchError) as info:
        SearchSettings.load(tmp_path / "nothing")
    assert str(tmp_path / "nothing") in str(info.value) and SETTINGS_FILE in str(info.value)


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", "null", '{"num_trials": 3,}'])
def test_load_of_a_corrupt_settings_file_names_the_file(tmp_path, text):
    (tmp_path / SETTINGS_FILE).write_text(text)
    with pytest.raises(NeckSearchError) as info:
        SearchSettings.load(tmp_path)
    assert str(tmp_path / SETTINGS_FILE) in str(info.value)


def test_load_of_unknown_keys_names_the_file_and_the_keys(tmp_path):
    path = _settings(tmp_path).save()
    data = json.loads(path.read_text())
    data.update(bogus=1, extra_key="x")
    path.write_text(json.dumps(data))
    with pytest.raises(NeckSearchError) as info:
        SearchSettings.load(path.parent)
    assert str(path) in str(info.value) and "bogus" in str(info.value) and "extra_key" in str(info.value)


# ---------------------------------------------------------------------------------------------- resumed_with

@pytest.mark.parametrize("key, value", [("num_trials", 12), ("max_concurrent", 4), ("address", "auto"),
                                        ("retries", 3)])
def test_resumed_with_changes_a_resumable_setting(tmp_path, key, value):
    assert key in RESUMABLE
    settings = _settings(tmp_path).checked()
    assert getattr(settings.resumed_with({key: value}), key) == value


@pytest.mark.parametrize("key, value, option", [
    ("epochs", 5, "--epochs"),
    ("data_fraction", 0.25, "--data-fraction"),
    ("objectives", ("map", "params"), "--objectives"),
    ("sampler", "random", "--sampler"),
    ("seed", 1, "--seed"),
    ("storage", "other.db", "--storage"),
])
def test_resumed_with_refuses_another_setting_naming_the_option(tmp_path, key, value, option):
    settings = _settings(tmp_path).checked()
    with pytest.raises(NeckSearchError) as info:
        settings.resumed_with({key: value})
    assert option in str(info.value) and "--resume" in str(info.value)


def test_resumed_with_accepts_equal_values(tmp_path):
    settings = _settings(tmp_path, objectives="map,params", fixed_points=("fpn",)).checked()
    before = SearchSettings(**vars(settings))
    same = settings.resumed_with({"epochs": 3, "data_fraction": 1.0, "objectives": ["map", "params"],
                                  "fixed_points": ("fpn",), "sampler": "tpe", "seed": 0})
    assert same == before


@pytest.mark.parametrize("key, given", [("space", "default"), ("storage", "study.db"), ("objectives", "map,params"),
                                        ("data_root", "data/synth"), ("config", "proxy/faster-rcnn_r18-tiny_fpn_synth.py")])
def test_resume_accepts_the_same_value_however_typed(tmp_path, monkeypatch, key, given):
    """settings.normalise spells a given value as prepare stored it (absolute files, parsed objectives)."""
    import dataclasses

    from necksearch.search.core.settings import normalise
    monkeypatch.chdir(tmp_path)
    stored = normalise(_settings(tmp_path, **{key: given}))
    assert getattr(stored, key) != given
    again = normalise(SearchSettings(**{**dataclasses.asdict(stored), key: given}))
    assert stored.resumed_with({key: getattr(again, key)}) == stored


# ---------------------------------------------------------------------------------------------- latest_run

def test_latest_run_is_the_newest_search(tmp_path):
    paths = {name: _settings(tmp_path, name=name).save() for name in ("old", "new", "mid")}
    for age, name in enumerate(("new", "mid", "old")):
        os.utime(paths[name], (1_000_000_000 - age * 100, 1_000_000_000 - age * 100))
    (tmp_path / "not-a-run").mkdir()
    assert latest_run(tmp_path) == tmp_path / "new"


def test_latest_run_without_runs_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NeckSearchError, match="--resume"):
        latest_run(tmp_path)
    with pytest.raises(NeckSearchError, match="--resume"):
        latest_run(tmp_path / "missing")


@pytest.mark.parametrize("value", ["zico", "zico:0", "magic:5", "zico:five", ":3"])
def test_a_bad_screen_names_the_option(value):
    with pytest.raises(NeckSearchError, match="--screen"):
        SearchSettings(screen=value).checked()


def test_a_good_screen():
    from necksearch.search.core.rankers import parse_screen
    assert parse_screen("synflow:64") == ("synflow", 64)


def test_resources_and_fidelity_are_the_settings_parts_functions_take():
    from necksearch.search.core.settings import Resources
    from necksearch.train.fidelity import Fidelity
    settings = SearchSettings(cpus_per_trial=2.5, gpus_per_trial=0.5, max_concurrent=3, address="ray://head:10001",
                              epochs=4, image_size=160, data_fraction=0.5)
    assert settings.resources == Resources(2.5, 0.5, 3, 1, "ray://head:10001")
    assert settings.resources.threads == 2 and Resources(0.5).threads == 1
    assert settings.resources.ray_options() == {"num_cpus": 2.5, "num_gpus": 0.5}
    assert settings.resources.tune_resources() == {"cpu": 2.5, "gpu": 0.5}
    assert settings.training_fidelity == Fidelity(4, 160, 0.5)
    assert SearchSettings(screen="zico:50").screening == ("zico", 50) and SearchSettings().screening is None
