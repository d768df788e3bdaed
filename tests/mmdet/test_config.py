"""detector_from_graph: the neck graph decides the neck, the RoI extractors, the detector and the padding."""
import pytest

from necksearch.graph.presets import load_preset
from tests.helpers import n_params
from tests.mmdet.helpers import R18, registered


def config(graph, base="mask_rcnn", **kwargs):
    _, ns_mmdet = registered()
    return ns_mmdet.detector_from_graph(graph, base, **kwargs)


@pytest.mark.parametrize("preset, detector, roi_head, extractor, divisor", [
    ("fpn", "MaskRCNN", "StandardRoIHead", "SingleRoIExtractor", 32),
    ("augfpn_srs", "MaskRCNN", "StandardRoIHead", "SRSRoIExtractor", 32),
    ("augfpn", "NeckSearchTwoStage", "CSRoIHead", "SRSRoIExtractor", 32),
    ("augfpn_cs", "NeckSearchTwoStage", "CSRoIHead", "SingleRoIExtractor", 32),
    ("a2fpn_lite", "NeckSearchTwoStage", "StandardRoIHead", "SingleRoIExtractor", 32),
    ("a2fpn", "NeckSearchTwoStage", "StandardRoIHead", "SingleRoIExtractor", 64),   # F6 = conv_down(C5)
    ("mssa_fpn", "MaskRCNN", "StandardRoIHead", "SingleRoIExtractor", 64),         # P4 = conv_down(C5)
    ("fpt_st", "NeckSearchTwoStage", "StandardRoIHead", "SingleRoIExtractor", 32),
])
def test_config_follows_the_graph(preset, detector, roi_head, extractor, divisor):
    cfg = config(preset)
    graph = load_preset(preset)
    assert cfg.type == detector
    assert cfg.neck == dict(type="GraphNeck", graph=graph.to_dict(), in_channels=[256, 512, 1024, 2048],
                            out_channels=256)
    assert cfg.roi_head.type == roi_head
    assert cfg.roi_head.bbox_roi_extractor.type == cfg.roi_head.mask_roi_extractor.type == extractor
    assert cfg.roi_head.bbox_roi_extractor.roi_layer.output_size == 7
    assert cfg.roi_head.mask_roi_extractor.roi_layer.output_size == 14
    assert cfg.data_preprocessor.pad_size_divisor == divisor
    assert cfg.rpn_head.anchor_generator.strides == [4, 8, 16, 32, 64]


def test_faster_rcnn_base_widths_and_graph_forms():
    from necksearch.graph.presets import PRESET_DIR
    graph = load_preset("augfpn")
    configs = [config(spec, "faster_rcnn", backbone=R18, out_channels=64)
               for spec in ("augfpn", graph, graph.to_dict(), PRESET_DIR / "augfpn.yaml")]
    assert all(c == configs[0] for c in configs)
    cfg = configs[0]
    assert cfg.type == "NeckSearchTwoStage" and "mask_head" not in cfg.roi_head
    assert cfg.neck.in_channels == [64, 128, 256, 512] and cfg.neck.graph["channels"] == 64
    assert cfg.rpn_head.in_channels == cfg.roi_head.bbox_head.in_channels == 64
    assert cfg.roi_head.bbox_roi_extractor.out_channels == 64


def test_the_augfpn_detector_at_256_channels_has_one_srs_per_branch():
    from necksearch.mmdet import SRSRoIExtractor
    models, _ = registered()
    cfg = config("augfpn", backbone=R18)
    model = models.build(cfg)
    box, mask = model.roi_head.bbox_roi_extractor, model.roi_head.mask_roi_extractor
    assert isinstance(box, SRSRoIExtractor) and isinstance(mask, SRSRoIExtractor) and box is not mask
    assert n_params(box) == n_params(mask) == 271_620
    assert box.roi_layers[0].output_size == (7, 7) and mask.roi_layers[0].output_size == (14, 14)


def test_config_round_trips_through_an_mmengine_config_file(tmp_path):
    from mmengine.config import Config
    cfg = Config(dict(model=config("a2fpn_lite", "faster_rcnn"),
                      custom_imports=dict(imports=["necksearch.mmdet"], allow_failed_imports=False)))
    cfg.dump(tmp_path / "model.py")
    assert Config.fromfile(tmp_path / "model.py").model.neck.graph == load_preset("a2fpn_lite").to_dict()


def test_srs_on_a_base_with_a_level_mapping_scale_builds():
    """SRS pools every level, so a base's SingleRoIExtractor ``finest_scale`` is dropped (and kept for fpn)."""
    models, ns_mmdet = registered()
    base = ns_mmdet.detector_from_graph("fpn", "faster_rcnn", backbone=R18, out_channels=64)
    base["roi_head"]["bbox_roi_extractor"]["finest_scale"] = 28
    srs = ns_mmdet.detector_from_graph("augfpn_srs", base, backbone=R18, out_channels=64)
    assert "finest_scale" not in srs["roi_head"]["bbox_roi_extractor"]
    models.build(srs)
    assert ns_mmdet.detector_from_graph("pafpn", base, backbone=R18, out_channels=64)[
        "roi_head"]["bbox_roi_extractor"]["finest_scale"] == 28
