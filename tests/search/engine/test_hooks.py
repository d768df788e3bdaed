"""The trial hooks on fake runners: a non-finite loss stops the trial, every validation epoch reports all
objectives, and the fault drill fires what, where and how often it is told."""
import json
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from necksearch.search.engine import hooks as hooks_module
from necksearch.search.engine.hooks import TIE_BREAK, TrainCostBoundHook, TrainCostExceeded, TrialReportHook
from tests.search.fault_drill import FaultDrillHook


class TinyDetector(nn.Module):
    def __init__(self, graph_name):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 1)
        self.neck = SimpleNamespace(graph=SimpleNamespace(name=graph_name))


def runner(tmp_path, epoch=0, iteration=0, graph_name="victim"):
    return SimpleNamespace(epoch=epoch, iter=iteration, work_dir=str(tmp_path), model=TinyDetector(graph_name))


# ---------------------------------------------------------------------------------------------- TrialReportHook

@pytest.mark.parametrize("loss", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_stops_the_trial(tmp_path, loss):
    hook = TrialReportHook(params=1, flops=2)
    with pytest.raises(FloatingPointError) as info:
        hook.after_train_iter(runner(tmp_path, epoch=1, iteration=41), 0, outputs={"loss": torch.tensor(loss)})
    assert "epoch 2, iteration 42" in str(info.value)


def test_finite_losses_are_kept_for_the_epoch_mean(tmp_path):
    hook = TrialReportHook(params=1, flops=2)
    for loss in (1.0, 3.0):
        hook.after_train_iter(runner(tmp_path), 0, outputs={"loss": torch.tensor(loss)})
    hook.after_train_iter(runner(tmp_path), 0, outputs=None)
    assert hook.losses == [1.0, 3.0, 0.0]


def test_every_validation_epoch_reports_all_objectives(tmp_path, monkeypatch):
    import ray
    import ray.tune
    reports = []
    monkeypatch.setattr(ray.tune, "report", lambda metrics, **kwargs: reports.append(metrics))
    # outside a Tune trial, ray.get_runtime_context() would start a local Ray instance
    monkeypatch.setattr(ray, "get_runtime_context", lambda: SimpleNamespace(get_node_id=lambda: "node-1"))
    monkeypatch.setattr(ray, "init", _no_ray_init)
    hook = TrialReportHook(params=3_344_384, flops=60_000_000_000)
    for loss in (2.0, 4.0):
        hook.after_train_iter(runner(tmp_path), 0, outputs={"loss": torch.tensor(loss)})
    hook.after_val_epoch(runner(tmp_path, epoch=2), {"coco/bbox_mAP": 0.25, "coco/bbox_mAP_50": 0.5})
    hook.after_val_epoch(runner(tmp_path, epoch=3), {})
    first, second = reports
    assert first["epoch"] == 2 and first["map"] == 0.25 and first["map_50"] == 0.5 and first["loss"] == 3.0
    assert math.isnan(first["segm_map"])
    assert first["score"] == pytest.approx(0.25 - TIE_BREAK * 3.0)
    assert first["params"] == 3_344_384 and first["flops"] == 60_000_000_000 and "latency" not in first
    assert second["epoch"] == 3 and math.isnan(second["map"]) and math.isnan(second["loss"])  # losses were reset
    assert hook.losses == []
    assert not ray.is_initialized()


def test_reports_count_the_training_process_cpu_seconds_across_a_resume(tmp_path, monkeypatch):
    """``cpu_s`` is the process's CPU time since training began (a sleep adds nothing), plus what the last report
    before a resume had recorded: at least the 0.3 CPU-seconds spent between the hook's calls, at most the process
    CPU time measured around them (not their wall time, which the 0.5 s sleep adds to), whatever the load."""
    import json
    import time

    import ray
    import ray.tune
    reports = []
    monkeypatch.setattr(ray.tune, "report", lambda metrics, **kwargs: reports.append(metrics))
    monkeypatch.setattr(ray, "get_runtime_context", lambda: SimpleNamespace(get_node_id=lambda: "node-1"))
    (tmp_path / "reports.jsonl").write_text(json.dumps({"epoch": 1, "map": 0.1, "cpu_s": 100.0}) + "\n")
    hook, fake = TrialReportHook(params=1, flops=1), runner(tmp_path, epoch=1)
    cpu_before, wall_before = time.process_time(), time.monotonic()
    hook.before_train(fake)
    busy_until = time.process_time() + 0.3
    while time.process_time() < busy_until:
        pass
    time.sleep(0.5)
    hook.after_val_epoch(runner(tmp_path, epoch=2), {"coco/bbox_mAP": 0.2})
    cpu_spent, wall_spent = time.process_time() - cpu_before, time.monotonic() - wall_before
    assert 0.3 - 1e-9 <= reports[0]["cpu_s"] - 100.0 <= cpu_spent + 1e-9, (reports[0]["cpu_s"], cpu_spent, wall_spent)
    assert json.loads((tmp_path / "reports.jsonl").read_text().splitlines()[-1])["cpu_s"] == reports[0]["cpu_s"]


def test_reports_count_the_training_s_wall_seconds_across_a_resume(tmp_path, monkeypatch):
    """``train_s`` is the wall time since training began (a sleep counts) plus the last report's before a resume."""
    import json
    import time

    import ray
    import ray.tune
    reports = []
    monkeypatch.setattr(ray.tune, "report", lambda metrics, **kwargs: reports.append(metrics))
    monkeypatch.setattr(ray, "get_runtime_context", lambda: SimpleNamespace(get_node_id=lambda: "node-1"))
    (tmp_path / "reports.jsonl").write_text(json.dumps({"epoch": 1, "map": 0.1, "cpu_s": 1.0, "train_s": 50.0}) + "\n")
    hook = TrialReportHook(params=1, flops=1)
    before = time.perf_counter()
    hook.before_train(runner(tmp_path, epoch=1))
    time.sleep(0.3)
    hook.after_val_epoch(runner(tmp_path, epoch=2), {"coco/bbox_mAP": 0.2})
    assert 0.3 <= reports[0]["train_s"] - 50.0 <= time.perf_counter() - before


def _no_ray_init(*args, **kwargs):
    raise AssertionError("a unit test must not start Ray")


# ---------------------------------------------------------------------------------------------- FaultDrillHook

@pytest.mark.parametrize("kind", ["explode", "raise_twice", "once", "RAISE", "kill_once_once"])
def test_fault_drill_rejects_an_unknown_kind(kind):
    with pytest.raises(ValueError, match="FaultDrillHook"):
        FaultDrillHook({"victim": kind})


def test_fault_drill_accepts_every_kind():
    hook = FaultDrillHook({f"g{i}": kind for i, kind in enumerate(
        ["raise", "nan", "kill", "raise_once", "nan_once", "kill_once"])}, epoch=3)
    assert hook.epoch == 3 and len(hook.faults) == 6


def test_raise_fires_only_at_the_first_iteration_of_its_epoch(tmp_path):
    hook = FaultDrillHook({"victim": "raise"}, epoch=2)
    hook.before_train_iter(runner(tmp_path, epoch=0), 0)  # epoch 1
    hook.before_train_iter(runner(tmp_path, epoch=2), 0)  # epoch 3
    hook.before_train_iter(runner(tmp_path, epoch=1), 1)  # epoch 2, second iteration
    hook.before_train_iter(runner(tmp_path, epoch=1, graph_name="bystander"), 0)
    assert not (tmp_path / "fault_drill_fired").exists()
    with pytest.raises(RuntimeError, match="fault drill"):
        hook.before_train_iter(runner(tmp_path, epoch=1), 0)
    with pytest.raises(RuntimeError, match="fault drill"):  # without _once: every attempt
        hook.before_train_iter(runner(tmp_path, epoch=1), 0)


def test_once_fires_once_per_work_dir(tmp_path):
    (tmp_path / "trial").mkdir()
    hook = FaultDrillHook({"victim": "raise_once"})
    with pytest.raises(RuntimeError, match="fault drill"):
        hook.before_train_iter(runner(tmp_path / "trial"), 0)
    assert (tmp_path / "trial" / "fault_drill_fired").exists()
    hook.before_train_iter(runner(tmp_path / "trial"), 0)  # the retry runs on
    FaultDrillHook({"victim": "raise_once"}).before_train_iter(runner(tmp_path / "trial"), 0)  # a new process too
    with pytest.raises(RuntimeError, match="fault drill"):  # another trial's work dir fires again
        hook.before_train_iter(runner(tmp_path), 0)


def test_nan_poisons_a_parameter(tmp_path):
    fake = runner(tmp_path)
    FaultDrillHook({"victim": "nan"}).before_train_iter(fake, 0)
    first = next(fake.model.parameters())
    assert torch.isnan(first).all()


def test_nan_once_poisons_only_the_first_attempt(tmp_path):
    hook = FaultDrillHook({"victim": "nan_once"})
    hook.before_train_iter(runner(tmp_path), 0)
    again = runner(tmp_path)
    hook.before_train_iter(again, 0)
    assert all(torch.isfinite(p).all() for p in again.model.parameters())


@pytest.mark.parametrize("reported, validates", [(None, True), (1, True), (2, False)])
def test_a_resumed_trial_validates_an_epoch_it_never_reported(tmp_path, reported, validates):
    """Killed after the epoch-2 checkpoint but before its validation: the resumed run validates epoch 2 first."""
    import json
    if reported is not None:
        (tmp_path / "reports.jsonl").write_text(json.dumps({"epoch": reported, "map": 0.0}) + "\n")
    calls = []
    fake = runner(tmp_path, epoch=2)
    fake.val_loop = SimpleNamespace(run=lambda: calls.append("val"))
    TrialReportHook(params=1, flops=1).before_train(fake)
    assert calls == (["val"] if validates else [])


# ---------------------------------------------------------------------------------------------- TrainCostBoundHook

def drive(hook, tmp_path, seconds, monkeypatch, iterations_per_epoch=4):
    """Run the hook through training iterations that each take ``seconds[i]`` (a fake clock), epochs of
    ``iterations_per_epoch``, with 100 s of validation between epochs."""
    clock = [0.0]
    monkeypatch.setattr(hooks_module.time, "process_time", lambda: clock[0])
    for index, took in enumerate(seconds):
        batch_idx = index % iterations_per_epoch
        if batch_idx == 0 and index:
            clock[0] += 100.0  # validation between epochs: never timed
        clock[0] += took
        hook.after_train_iter(runner(tmp_path, epoch=index // iterations_per_epoch, iteration=index), batch_idx)


def bound_hook(**kwargs):
    return TrainCostBoundHook(**dict(dict(max_s_per_iter=2.5, reference="augfpn", ratio=1.25,
                                          reference_s_per_iter=2.0, iterations=3), **kwargs))


def test_a_graph_within_the_train_cost_bound_trains_on(tmp_path, monkeypatch):
    hook = bound_hook()
    drive(hook, tmp_path, [30.0, 2.4, 9.0, 2.4, 9.0, 9.0], monkeypatch)  # slow warm-up, one slow iteration timed,
    assert hook.durations == pytest.approx([2.4, 9.0, 2.4])                # slow after the check: the median is 2.4
    assert json.loads((tmp_path / "train_cost.json").read_text())["s_per_iter"] == pytest.approx(2.4)


def test_a_graph_over_the_train_cost_bound_is_refused_after_its_timed_iterations(tmp_path, monkeypatch):
    hook = bound_hook()
    with pytest.raises(TrainCostExceeded) as info:
        drive(hook, tmp_path, [1.0, 2.0, 3.0, 4.0, 1.0], monkeypatch)
    assert str(info.value) == ("max_train_cost: 3.00 cpu s per training iteration (median of 3) > 1.25 × "
                               "augfpn's 2.00 s = 2.50 s")


def test_the_train_cost_bound_never_times_across_an_epoch_s_validation(tmp_path, monkeypatch):
    hook = bound_hook()
    drive(hook, tmp_path, [1.0, 2.0, 1.0, 2.0, 1.0, 2.0], monkeypatch, iterations_per_epoch=2)  # 100 s between epochs
    assert hook.durations == [2.0, 2.0, 2.0]


def test_with_short_epochs_the_timed_iterations_gather_over_epochs_and_an_early_end_is_not_judged(tmp_path,
                                                                                                     monkeypatch):
    hook = bound_hook(iterations=5)
    drive(hook, tmp_path, [1.0, 3.0, 1.0, 3.0, 1.0, 3.0], monkeypatch, iterations_per_epoch=2)
    assert hook.durations == [3.0, 3.0, 3.0] and not (tmp_path / "train_cost.json").exists()


def test_on_a_gpu_the_train_cost_bound_times_wall_seconds(tmp_path, monkeypatch):
    monkeypatch.setattr(hooks_module.time, "process_time", lambda: 0.0)  # the GPU's work is not the CPU's
    ends = [1.0, 4.0, 7.0, 10.0]  # iterations 1-3 each take 3 wall seconds
    monkeypatch.setattr(hooks_module.time, "perf_counter", lambda: ends.pop(0))
    hook = bound_hook(clock="wall")
    with pytest.raises(TrainCostExceeded, match="3.00 wall s"):
        for index in range(4):
            hook.after_train_iter(runner(tmp_path, iteration=index), index)


def test_a_refused_trial_handed_out_again_ends_without_training(tmp_path, monkeypatch):
    """A refusal is final: a run killed after one handed out again (``--resume``) ends at once, its record kept, with
    one report that Tune's metric check accepts (``report_refusal``)."""
    import dataclasses

    from necksearch.search.core.settings import SearchSettings
    from necksearch.search.engine import trainable
    from necksearch.search.engine.trainable import read_failure_record, record_failure, trial_dir
    settings = SearchSettings(name="s", runs_dir=str(tmp_path)).checked()
    work_dir = trial_dir(settings.run_dir, 7)
    work_dir.mkdir(parents=True)
    record_failure(work_dir, TrainCostExceeded("max_train_cost: 3.00 cpu s per training iteration"))
    config = {"settings": dataclasses.asdict(settings), "trial": {"number": 7}}
    reported = []
    monkeypatch.setattr(trainable, "report_refusal", lambda refusal, objectives: reported.append((refusal, objectives)))
    trainable.train_trial(config, recipe=None)  # no recipe: it would fail at once if it tried to train
    assert read_failure_record(work_dir)["message"] == "max_train_cost: 3.00 cpu s per training iteration"
    assert reported == [("max_train_cost: 3.00 cpu s per training iteration", ("map",))]


def test_a_refusal_ends_the_trial_without_an_error_and_is_recorded(tmp_path, monkeypatch):
    """Raised in training, the refusal is written to failure.json and not raised to Tune (no retry, no traceback);
    any other error is written and raised."""
    import dataclasses

    from necksearch.search.core.settings import SearchSettings
    from necksearch.search.engine import trainable
    settings = SearchSettings(name="s", runs_dir=str(tmp_path)).checked()
    config = {"settings": dataclasses.asdict(settings), "trial": {"number": 3}}
    errors = [TrainCostExceeded("max_train_cost: 2.00 cpu s"), ValueError("a real failure")]

    def train(*args):
        raise errors.pop(0)
    reported = []
    monkeypatch.setattr(trainable, "_train", train)
    monkeypatch.setattr(trainable, "report_refusal", lambda refusal, objectives: reported.append(refusal))
    trainable.train_trial(config, recipe=None)
    assert trainable.cost_refusal(trainable.trial_dir(settings.run_dir, 3)) == "max_train_cost: 2.00 cpu s"
    assert reported == ["max_train_cost: 2.00 cpu s"]
    config["trial"]["number"] = 4
    with pytest.raises(ValueError, match="a real failure"):
        trainable.train_trial(config, recipe=None)
    assert trainable.read_failure(settings.run_dir, 4) == "ValueError: a real failure"


def test_a_trial_trains_at_the_seed_its_config_names_not_the_recipe_s(tmp_path, search_data_root, monkeypatch):
    """One Tune run of ``necksearch confirm`` trains several seeds from one recipe: each trial's config names its
    own."""
    import dataclasses

    from necksearch.graph.presets import load_preset
    from necksearch.search.core.settings import SearchSettings
    from necksearch.search.engine.trainable import train_trial
    from necksearch.train import runner as runner_module
    from necksearch.train.recipe import Recipe
    import torch
    ran = []
    monkeypatch.setattr(runner_module, "run_config", ran.append)
    monkeypatch.setattr(torch, "set_num_threads", lambda threads: None)  # the trial's setting: not this process's
    settings = SearchSettings(name="s", runs_dir=str(tmp_path), epochs=1, image_size=64).checked()
    recipe = Recipe.resolve(data_root=search_data_root, seed=0)
    trial = {"number": 3, "graph": load_preset("fpn").to_dict(), "params": 1, "flops": 1, "seed": 5}
    train_trial({"settings": dataclasses.asdict(settings), "trial": trial}, recipe=recipe)
    assert ran[0].randomness["seed"] == 5 and ran[0].train_dataloader["sampler"]["seed"] == 5
