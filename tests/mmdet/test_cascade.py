"""``--graph`` on the Cascade Mask R-CNN configs: the graph's neck and detector choices reach every stage."""
from pathlib import Path

import pytest
import torch

from necksearch.errors import NeckSearchError
from tests.helpers import n_params
from tests.mmdet.helpers import NUM_CLASSES, R18, R18_WIDTHS, preprocess, registered

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
CASCADE_CONFIGS = ["cascade-mask-rcnn_r50_mssa-fpn_1x_coco.py", "cascade-mask-rcnn_r50_msca-fpn_1x_coco.py"]
WIDTH = 64


def cascade_config(name, graph):
    """The config's model after ``set_graph`` (what ``necksearch train CONFIG --graph GRAPH`` builds), on a
    ResNet-18 with a 64-wide pyramid and small heads."""
    from mmengine.config import Config

    from necksearch.graph.presets import resolve_graph
    from necksearch.train.configs import set_graph
    registered()
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    cfg.model.backbone = dict(R18)
    cfg.model.neck.update(in_channels=R18_WIDTHS, out_channels=WIDTH)
    set_graph(cfg, resolve_graph(graph))
    model = cfg.model
    model.rpn_head.feat_channels = 32
    for head in model.roi_head.bbox_head:
        head.update(fc_out_channels=64, num_classes=NUM_CLASSES)
    model.roi_head.mask_head.update(conv_out_channels=16, num_classes=NUM_CLASSES)
    model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    for stage in model.train_cfg.rcnn:
        stage.sampler.num = 64
    model.test_cfg.rpn.update(nms_pre=100, max_per_img=50)
    return model


def srs_extractor(width):
    """A standalone SRS box extractor over 4 levels (its ASF convs are all its parameters)."""
    from necksearch.mmdet import SRSRoIExtractor
    return SRSRoIExtractor(dict(type="RoIAlign", output_size=7, sampling_ratio=0), width, [4, 8, 16, 32])


@pytest.mark.parametrize("name", CASCADE_CONFIGS)
@pytest.mark.parametrize("graph, detector, extractor", [
    ("fpn", "CascadeRCNN", "SingleRoIExtractor"),
    ("a2fpn_lite", "NeckSearchTwoStage", "SingleRoIExtractor"),   # MGC orthogonal loss
    ("augfpn_srs", "CascadeRCNN", "SRSRoIExtractor"),
])
def test_cascade_config_takes_a_graph_and_builds(name, graph, detector, extractor):
    from mmdet.models.roi_heads import CascadeRoIHead
    from necksearch.graph.presets import load_preset
    models, _ = registered()
    cfg = cascade_config(name, graph)
    assert cfg.type == detector and cfg.roi_head.type == "CascadeRoIHead"
    assert cfg.neck.graph == load_preset(graph).with_channels(WIDTH).to_dict()
    assert cfg.data_preprocessor.pad_size_divisor == 64            # never below the config's (MSSA's P4)
    assert [head.in_channels for head in cfg.roi_head.bbox_head] == [WIDTH] * 3
    model = models.build(cfg)
    assert type(model).__name__ == detector and isinstance(model.roi_head, CascadeRoIHead)
    extractors = [*model.roi_head.bbox_roi_extractor, *model.roi_head.mask_roi_extractor]
    assert len(extractors) == 6 and len({id(e) for e in extractors}) == 6   # one per stage and branch
    assert {type(e).__name__ for e in extractors} == {extractor}
    if extractor == "SRSRoIExtractor":
        assert {n_params(e) for e in extractors} == {n_params(srs_extractor(WIDTH))}


def test_the_wrapper_trains_a_cascade_with_the_mgc_loss_and_dropblock():
    models, _ = registered()
    cfg = cascade_config(CASCADE_CONFIGS[0], "a2fpn_lite")
    cfg.output_dropblock = dict(drop_prob=0.1, block_size=3)   # FPT's DropBlock, on top of a2fpn_lite's L_o
    model = models.build(cfg).train()
    assert model.output_dropblock is not None and model.mgc_orthogonal_weight == pytest.approx(1e-4)
    data = preprocess(model, True)
    losses = model.loss(data["inputs"], data["data_samples"])
    assert "loss_orth" in losses and {"s0.loss_cls", "s2.loss_bbox", "s2.loss_mask"} <= set(losses)
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()


@pytest.mark.parametrize("graph", ["augfpn", "augfpn_cs"])
def test_consistent_supervision_on_a_cascade_is_a_clear_error(graph):
    with pytest.raises(NeckSearchError, match="consistent supervision .* not to the base's CascadeRoIHead"):
        cascade_config(CASCADE_CONFIGS[0], graph)
