"""build_train_config: the graph, data root, seed, hooks and resume settings that ``necksearch train`` runs."""
from pathlib import Path

import pytest

from necksearch.errors import NeckSearchError
from necksearch.graph.presets import load_preset
from necksearch.train import DEFAULT_CONFIG, build_train_config, check_ann_file, resolve_config_path
from necksearch.train.configs import SCRATCH_CONFIG


def test_defaults(tiny_root, tmp_path):
    cfg = build_train_config(data_root=tiny_root, work_dir=tmp_path / "w", seed=5)
    assert resolve_config_path(None) == DEFAULT_CONFIG
    assert cfg.model.neck.graph == "fpn" and cfg.model.type == "FasterRCNN"
    assert cfg.randomness == dict(seed=5, deterministic=True)
    assert cfg.train_dataloader.sampler.seed == 5
    assert cfg.train_dataloader.dataset.data_root == str(Path(tiny_root).resolve()) + "/"
    assert cfg.val_evaluator.ann_file == str(Path(tiny_root).resolve() / "annotations" / "instances_val.json")
    assert [h["type"] for h in cfg.custom_hooks] == ["EpochReseedHook", "NeckScaleHook", "NeckSearchMetricsHook"]
    assert cfg.model.backbone.type == "EfficientNetLite0" and cfg.model.neck.in_channels == [24, 40, 112, 320]
    assert cfg.train_cfg.val_interval == 1 and cfg.default_hooks.checkpoint.interval == 1
    assert "necksearch.train.hooks" in cfg.custom_imports.imports and cfg.resume is False


def test_graph_replaces_neck_and_detector_parts(tiny_root, tmp_path):
    from necksearch.mmdet import detector_from_graph
    cfg = build_train_config(SCRATCH_CONFIG, graph=load_preset("a2fpn"), epochs=2, resume=True, data_root=tiny_root,
                             work_dir=tmp_path / "w")
    assert cfg.model.neck.graph["name"] == "a2fpn" and cfg.model.neck.in_channels == [32, 64, 128, 256]
    assert cfg.model.neck.out_channels == 64
    assert cfg.model.type == "NeckSearchTwoStage" and cfg.model.data_preprocessor.pad_size_divisor == 64
    base = build_train_config(SCRATCH_CONFIG, data_root=tiny_root, work_dir=tmp_path / "w").model.to_dict()
    expected = detector_from_graph("a2fpn", base, in_channels=[32, 64, 128, 256], out_channels=64).to_dict()
    assert cfg.model.to_dict() == expected
    assert cfg.train_cfg.max_epochs == 2 and cfg.resume is True
    augfpn = build_train_config(graph=load_preset("augfpn"), data_root=tiny_root, work_dir=tmp_path / "w").model
    assert augfpn.roi_head.type == "CSRoIHead" and augfpn.roi_head.bbox_roi_extractor.type == "SRSRoIExtractor"


def test_graph_from_a_name_or_a_file(tiny_root, tmp_path):
    """``necksearch train --graph`` and ``train(graph=...)`` take a preset name or a graph file (the edge)."""
    from necksearch.graph.serial import dump_yaml
    path = tmp_path / "mine.yaml"
    path.write_text(dump_yaml(load_preset("pafpn").to_dict()))
    for spec in (str(path), path, "pafpn"):
        cfg = build_train_config(graph=spec, data_root=tiny_root, work_dir=tmp_path / "w")
        assert cfg.model.neck.graph["name"] == "pafpn"


def test_default_work_dir_names_config_and_graph(tiny_root):
    cfg = build_train_config(graph=load_preset("pafpn"), data_root=tiny_root)
    assert cfg.work_dir == str(Path("runs") / "train" / f"{DEFAULT_CONFIG.stem}__pafpn")
    assert build_train_config(data_root=tiny_root).work_dir.endswith("__fpn")  # the config's own graph


def test_bad_values(tiny_root, tmp_path):
    with pytest.raises(NeckSearchError, match="epochs"):
        build_train_config(epochs=0, data_root=tiny_root)
    with pytest.raises(NeckSearchError, match="unknown config"):
        build_train_config("configs/nope.py")
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": []')
    with pytest.raises(NeckSearchError, match="corrupt or truncated"):
        check_ann_file(bad)
    bad.write_text('{"images": [], "annotations": [], "categories": []}')
    with pytest.raises(NeckSearchError, match="no images"):
        check_ann_file(bad)


def test_cascade_config_takes_a_graph_and_refuses_consistent_supervision():
    """--graph rewrites the Cascade config; AugFPN's consistent supervision has no Cascade form, which is a
    one-line error. (No COCO here: the config is read and rewritten, never resolved against its data.)"""
    from necksearch.train.configs import load_config, set_graph
    cfg = load_config(resolve_config_path("cascade-mask-rcnn_r50_mssa-fpn_1x_coco.py"))
    assert set_graph(cfg, load_preset("fpn")).name == "fpn"
    assert cfg.model.neck.graph["name"] == "fpn"
    with pytest.raises(NeckSearchError, match="consistent supervision .*CascadeRoIHead"):
        set_graph(cfg, load_preset("augfpn"))
    with pytest.raises(NeckSearchError, match="data root"):
        build_train_config("cascade-mask-rcnn_r50_mssa-fpn_1x_coco.py", data_root="/no/such/root")


def _step_epochs(cfg):
    return [s for s in cfg.param_scheduler if s["type"] == "MultiStepLR"][0]


@pytest.mark.parametrize("epochs, milestones", [(1, []), (2, [1]), (3, [2]), (6, [4]), (9, [6])])
def test_epochs_stretch_the_lr_schedule(tiny_root, tmp_path, epochs, milestones):
    """The default proxy steps the LR before the last of its 3 epochs; --epochs N keeps that shape."""
    cfg = build_train_config(epochs=epochs, data_root=tiny_root, work_dir=tmp_path / "w")
    step = _step_epochs(cfg)
    assert cfg.train_cfg.max_epochs == epochs and step["end"] == epochs and step["milestones"] == milestones
    warmup = [s for s in cfg.param_scheduler if s["type"] == "LinearLR"][0]
    assert warmup["end"] == 20 and warmup["by_epoch"] is False  # iteration-based: untouched


def test_a_coco_1x_schedule_stretched_to_24_epochs_is_mmdets_2x():
    from mmengine.config import Config
    from necksearch.train.configs import set_epochs
    cfg = Config(dict(train_cfg=dict(max_epochs=12), param_scheduler=[
        dict(type="LinearLR", by_epoch=False, begin=0, end=500),
        dict(type="MultiStepLR", by_epoch=True, begin=0, end=12, milestones=[8, 11])]))
    set_epochs(cfg, 24)
    assert cfg.param_scheduler[1]["milestones"] == [16, 22] and cfg.param_scheduler[1]["end"] == 24
    assert cfg.param_scheduler[0]["end"] == 500
