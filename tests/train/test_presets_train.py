"""Every preset trains on the synthetic data on CPU (proxy detector, one iteration on 4 images 128×128)
with finite losses, and its evaluation produces COCO metrics (pycocotools via mmdet's CocoMetric)."""
import copy
import json
import math

import pytest

from necksearch.graph.presets import list_presets


def _run(graph, root, work_dir, config=None):
    from mmdet.utils import register_all_modules
    from mmengine.runner import Runner

    import necksearch.train.hooks  # noqa: F401
    from necksearch.mmdet.checkpoint import install
    from necksearch.train import build_train_config
    cfg = build_train_config(config, graph=graph, epochs=1, data_root=root, work_dir=work_dir, seed=0)
    cfg.default_hooks.logger.interval = 1
    register_all_modules(init_default_scope=True)
    install()
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    return runner


def _check(runner, work_dir, *metrics):
    loss = runner.message_hub.get_scalar("train/loss").current()
    assert math.isfinite(loss)
    record = json.loads((work_dir / "metrics" / "epoch_1.json").read_text())
    assert record["epoch"] == 1
    for key in metrics:
        assert 0.0 <= record["metrics"][key] <= 1.0, record
    assert (work_dir / "epoch_1.pth").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("preset", list_presets())
def test_preset_trains_and_evaluates(preset, tiny_root, tmp_path):
    runner = _run(preset, tiny_root, tmp_path / "w")
    _check(runner, tmp_path / "w", "coco/bbox_mAP")


def test_mask_proxy_gives_bbox_and_segm(tiny_root, tmp_path):
    from necksearch.train import MASK_PROXY
    runner = _run(None, tiny_root, tmp_path / "w", config=MASK_PROXY)
    _check(runner, tmp_path / "w", "coco/bbox_mAP", "coco/segm_mAP")
