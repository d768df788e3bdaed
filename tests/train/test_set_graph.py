"""``set_graph`` (``necksearch train CONFIG --graph GRAPH``): the detector class follows the new graph both
ways: mmdet's plain class when the graph has no CS, MGC orthogonal loss or output DropBlock, the
NeckSearchTwoStage wrapper when it has one of them, whatever the config had."""
from pathlib import Path

import pytest

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
CASCADE = "cascade-mask-rcnn_r50_mssa-fpn_1x_coco.py"


def rewritten(name, graph):
    """The model of ``configs/NAME`` after ``set_graph(cfg, GRAPH)`` (a config, nothing built)."""
    from mmengine.config import Config

    from necksearch.graph.presets import load_preset
    from necksearch.train.configs import set_graph
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    set_graph(cfg, load_preset(graph))
    return cfg.model


@pytest.mark.parametrize("name, graph, detector", [
    ("faster-rcnn_r50_augfpn_1x_coco.py", "fpn", "FasterRCNN"),       # CS + SRS → none
    ("faster-rcnn_r50_augfpn_1x_coco.py", "augfpn_srs", "FasterRCNN"),  # CS dropped, SRS kept
    ("mask-rcnn_r50_a2fpn_1x_coco.py", "pafpn", "MaskRCNN"),           # MGC loss → none
    ("mask-rcnn_r50_fpt_1x_coco.py", "mssa_fpn", "MaskRCNN"),          # DropBlock → none
    ("mask-rcnn_r50_fpn_1x_coco.py", "fpn", "MaskRCNN"),
    (CASCADE, "mssa_fpn", "CascadeRCNN"),
])
def test_a_graph_without_wrapper_choices_gets_the_plain_mmdet_detector(name, graph, detector):
    model = rewritten(name, graph)
    assert model.type == detector
    assert model.roi_head.type in ("StandardRoIHead", "CascadeRoIHead")
    assert not {"consistent_supervision", "mgc_orthogonal_weight", "output_dropblock", "cs_laterals"} & set(model)


@pytest.mark.parametrize("name, graph, roi_head", [
    ("mask-rcnn_r50_fpn_1x_coco.py", "augfpn", "CSRoIHead"),
    ("mask-rcnn_r50_pafpn_1x_coco.py", "a2fpn_lite", "StandardRoIHead"),
    ("mask-rcnn_r50_fpn_1x_coco.py", "fpt_st", "StandardRoIHead"),
    (CASCADE, "a2fpn_lite", "CascadeRoIHead"),
    (CASCADE, "fpt_st", "CascadeRoIHead"),
])
def test_a_plain_config_given_a_graph_that_needs_the_wrapper_gets_it(name, graph, roi_head):
    model = rewritten(name, graph)
    assert model.type == "NeckSearchTwoStage" and model.roi_head.type == roi_head


def test_a_rewritten_config_equals_detector_from_graph_on_mmdets_base():
    """augfpn's config (wrapper, CSRoIHead, SRS) with --graph fpn is exactly mmdet's Faster R-CNN + fpn."""
    from necksearch.mmdet import detector_from_graph
    model = rewritten("faster-rcnn_r50_augfpn_1x_coco.py", "fpn").to_dict()
    expected = detector_from_graph("fpn", "faster_rcnn").to_dict()
    expected["neck"].pop("num_outs", None)
    assert model == expected


def test_a_cascade_round_trip_through_the_wrapper_comes_back_plain():
    from mmengine.config import Config

    from necksearch.graph.presets import load_preset
    from necksearch.train.configs import set_graph
    cfg = Config.fromfile(str(CONFIG_DIR / CASCADE))
    set_graph(cfg, load_preset("a2fpn_lite"))
    assert cfg.model.type == "NeckSearchTwoStage"
    set_graph(cfg, load_preset("augfpn_srs"))
    assert cfg.model.type == "CascadeRCNN" and cfg.model.roi_head.bbox_roi_extractor.type == "SRSRoIExtractor"
    set_graph(cfg, load_preset("fpn"))
    assert cfg.model.roi_head.bbox_roi_extractor.type == cfg.model.roi_head.mask_roi_extractor.type == \
        "SingleRoIExtractor"


def test_the_plain_detector_builds_from_a_base_with_wrapper_arguments():
    """A base that set the wrapper's own arguments: the graph decides them, so mmdet's class gets none."""
    from mmdet.models.detectors import MaskRCNN
    from necksearch.mmdet import NeckSearchTwoStage
    from tests.mmdet.helpers import build, small_config
    base = small_config("a2fpn_lite")
    base.update(mgc_orthogonal_weight=1e-3, output_dropblock=dict(drop_prob=0.1, block_size=3))
    model = build(small_config("fpn", base=base.to_dict()))
    assert isinstance(model, MaskRCNN) and not isinstance(model, NeckSearchTwoStage)
    model = build(small_config("fpt_st", base=base.to_dict()))
    assert isinstance(model, NeckSearchTwoStage) and model.mgc_orthogonal_weight == 0
