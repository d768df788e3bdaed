"""Every config in configs/ builds through MMDetection's registry and takes one optimizer step on CPU
(2 images 128×128, random boxes and masks), and the COCO configs agree with ``detector_from_graph``."""
from pathlib import Path

import pytest
import torch

from tests.mmdet.helpers import batch

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
CONFIGS = sorted(str(p.relative_to(CONFIG_DIR)) for p in CONFIG_DIR.rglob("*.py") if "_base_" not in p.parts)
COCO_CONFIGS = [name for name in CONFIGS if "/" not in name]

#: The graph and mmdet base each COCO config stands for.
EXPECTED = {
    "mask-rcnn_r50_fpn_1x_coco.py": ("fpn", "mask_rcnn", 0.01),
    "mask-rcnn_r50_pafpn_1x_coco.py": ("pafpn", "mask_rcnn", 0.01),
    "mask-rcnn_r50_a2fpn_1x_coco.py": ("a2fpn", "mask_rcnn", 0.01),
    "mask-rcnn_r50_a2fpn-lite_1x_coco.py": ("a2fpn_lite", "mask_rcnn", 0.01),
    "faster-rcnn_r50_augfpn_1x_coco.py": ("augfpn", "faster_rcnn", 0.02),
    "faster-rcnn_r50_found-fpt-gt-rt-srs-cs_1x_coco.py": ("found_fpt_gt_rt_srs_cs", "faster_rcnn", 0.02),
    "faster-rcnn_r50_found-fpt-gt-rt-srs_1x_coco.py": ("found_fpt_gt_rt_srs", "faster_rcnn", 0.02),
    "faster-rcnn_r50_found-fpt-st-rt-srs-cs_1x_coco.py": ("found_fpt_st_rt_srs_cs", "faster_rcnn", 0.02),
    "mask-rcnn_r50_fpt_1x_coco.py": ("fpt", "mask_rcnn", 0.02),
    "cascade-mask-rcnn_r50_mssa-fpn_1x_coco.py": ("mssa_fpn", "_base_/models/cascade-mask-rcnn_r50_fpn.py", 1e-4),
    "cascade-mask-rcnn_r50_msca-fpn_1x_coco.py": ("msca_fpn", "_base_/models/cascade-mask-rcnn_r50_fpn.py", 1e-4),
}


def _load(name):
    from mmengine.config import Config
    return Config.fromfile(str(CONFIG_DIR / name))


def test_every_coco_recipe_is_there():
    assert sorted(EXPECTED) == sorted(COCO_CONFIGS)
    assert {"proxy/faster-rcnn_effnet-lite0_fpn_synth.py", "proxy/faster-rcnn_r18-tiny_fpn_synth.py",
            "proxy/mask-rcnn_r18-tiny_fpn_synth.py"} <= set(CONFIGS)


@pytest.mark.parametrize("name", CONFIGS)
def test_config_text_has_no_imports_and_loads_necksearch(name):
    text = (CONFIG_DIR / name).read_text()
    assert not any(line.lstrip().startswith(("import ", "from ")) for line in text.splitlines())
    cfg = _load(name)
    assert cfg.custom_imports == dict(imports=["necksearch.mmdet"], allow_failed_imports=False)
    assert cfg.model.neck.type == "GraphNeck"


@pytest.mark.parametrize("name", COCO_CONFIGS)
def test_coco_config_matches_detector_from_graph(name):
    from necksearch.graph.presets import resolve_graph
    from necksearch.mmdet import detector_from_graph, pad_size_divisor
    graph, base, lr = EXPECTED[name]
    cfg = _load(name)
    assert cfg.model.neck.graph == graph
    assert cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.train_cfg.max_epochs == 12 and cfg.param_scheduler[1].milestones == [8, 11]
    assert cfg.train_dataloader.dataset.data_root == "data/coco/"
    if base.startswith("_base_"):  # cascade: the base is the repo's copy of mmdet's Cascade Mask R-CNN model
        base = str(CONFIG_DIR / base)
        assert cfg.model.type == "CascadeRCNN"
        assert cfg.model.data_preprocessor.pad_size_divisor == max(32, pad_size_divisor(graph)) == 64
        assert cfg.optim_wrapper.optimizer.type == "AdamW"
        assert cfg.optim_wrapper.optimizer.betas == (0.9, 0.99) and cfg.optim_wrapper.optimizer.weight_decay == 0.05
    expected = detector_from_graph(graph, base).to_dict()
    model = cfg.model.to_dict()
    model["neck"]["graph"] = resolve_graph(graph).with_channels(256).to_dict()
    expected["neck"].pop("num_outs", None)
    assert model == expected


def _step(cfg, name):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.optim import build_optim_wrapper
    register_all_modules()
    model = MODELS.build(cfg.model)
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    images, samples = batch(num_images=2, size=128, masks=bool(getattr(model, "with_mask", False)))
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
    losses = model.loss(data["inputs"], data["data_samples"])
    loss, log_vars = model.parse_losses(losses)
    assert torch.isfinite(loss), (name, log_vars)
    before = [p.detach().clone() for p in model.parameters() if p.requires_grad]
    optim.update_params(loss)
    after = [p.detach() for p in model.parameters() if p.requires_grad]
    assert any(not torch.equal(a, b) for a, b in zip(before, after)), name
    return log_vars


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if "/" not in name else name
                                  for name in CONFIGS])
def test_config_builds_and_takes_one_training_step(name):
    """R50 COCO configs are slow-marked (about 30-70 s each here on 2 busy cores); the proxies are not."""
    cfg = _load(name)
    log_vars = _step(cfg, name)
    assert "loss_rpn_cls" in log_vars and "loss_cls" in log_vars or any(k.startswith("s0.") for k in log_vars)
    if "mask" in name:
        assert any("loss_mask" in key for key in log_vars)
