"""GraphNeck: equality with MMDetection's FPN and PAFPN, checkpoint loading, and its errors."""
import pytest
import torch

from necksearch.graph import GraphError
from necksearch.nn import GraphNeck

WIDTHS = [256, 512, 1024, 2048]


def backbone_maps(image_hw=(100, 152), widths=WIDTHS, batch=2):
    return [torch.randn(batch, c, -(-image_hw[0] // 2 ** k), -(-image_hw[1] // 2 ** k))
            for c, k in zip(widths, range(2, 6))]


@pytest.mark.parametrize("preset, mmdet_neck", [("fpn", "FPN"), ("pafpn", "PAFPN")])
def test_loads_mmdet_weights_and_matches_its_outputs(preset, mmdet_neck):
    from mmdet.models import necks
    reference = getattr(necks, mmdet_neck)(WIDTHS, 256, num_outs=5).eval()
    for p in reference.parameters():  # mmdet's init leaves biases at 0: randomise them too
        torch.nn.init.normal_(p, std=0.02)
    neck = GraphNeck(preset, in_channels=WIDTHS, out_channels=256).eval()
    neck.load_state_dict(reference.state_dict(), strict=True)
    feats = backbone_maps()
    with torch.no_grad():
        ours, theirs = neck(feats), reference(feats)
    assert len(ours) == len(theirs) == 5
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_a_mask_rcnn_checkpoint_loads_into_a_detector_whose_neck_is_graphneck():
    from mmengine.config import Config
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    import mmdet
    import os
    register_all_modules()
    import necksearch.mmdet  # noqa: F401  (registers GraphNeck)
    cfg = Config.fromfile(os.path.join(os.path.dirname(mmdet.__file__), ".mim/configs/mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py"))
    zoo_model = MODELS.build(cfg.model).eval()
    checkpoint = {k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v
                  for k, v in zoo_model.state_dict().items()}
    cfg.model.neck = dict(type="GraphNeck", graph="fpn", in_channels=WIDTHS, out_channels=256)
    ours = MODELS.build(cfg.model).eval()
    ours.load_state_dict(checkpoint, strict=True)
    zoo_model.load_state_dict(checkpoint, strict=True)
    feats = backbone_maps(batch=1)
    with torch.no_grad():
        for a, b in zip(ours.neck(feats), zoo_model.neck(feats)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_mmdet_key_renaming_only_applies_to_the_mmdet_presets():
    from necksearch.graph.presets import load_preset
    graph = load_preset("fpn")
    changed = graph.__class__.from_dict({**graph.to_dict(), "nodes": [
        {**n, "op": "conv3x3", "args": {"relu": True}} if n["name"] == "p3" else n for n in graph.to_dict()["nodes"]]})
    neck = GraphNeck(changed)
    with pytest.raises(RuntimeError, match="lateral_convs"):
        neck.load_state_dict({"lateral_convs.0.conv.weight": torch.zeros(256, 256, 1, 1)}, strict=True)


def test_width_override_and_orthogonal_loss():
    neck = GraphNeck("fpn", in_channels=[8, 16, 32, 64], out_channels=8)
    outs = neck(backbone_maps(widths=[8, 16, 32, 64]))
    assert [o.shape[1] for o in outs] == [8] * 5
    assert neck.orthogonal_loss().item() == 0.0


def test_bad_inputs_raise_graph_errors_naming_the_problem():
    with pytest.raises(GraphError, match="unknown preset 'fpnn'"):
        GraphNeck("fpnn")
    with pytest.raises(GraphError, match="one width per graph input"):
        GraphNeck("fpn", in_channels=[256, 512, 1024])
    with pytest.raises(ValueError, match="takes 4 backbone maps"):
        GraphNeck("fpn")(backbone_maps()[:3])
