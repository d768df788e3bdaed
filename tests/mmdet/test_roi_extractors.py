"""SRSRoIExtractor: every RoI pooled on all four levels and fused by the registered ``srs`` op."""
import pytest
import torch

from tests.helpers import n_params
from tests.mmdet.helpers import registered

STRIDES = [4, 8, 16, 32]


def pyramid(channels, size=64, batch=2, requires_grad=False):
    return [torch.randn(batch, channels, size // s, size // s, requires_grad=requires_grad) for s in STRIDES]


def rois(num=6, size=64):
    g = torch.Generator().manual_seed(1)
    xy = torch.rand(num, 2, generator=g) * size / 2
    wh = torch.rand(num, 2, generator=g) * size / 2 + 4
    return torch.cat([torch.arange(num).remainder(2).float()[:, None], xy, xy + wh], dim=1)


def srs(channels, output_size=7):
    models, _ = registered()
    return models.build(dict(type="SRSRoIExtractor", out_channels=channels, featmap_strides=STRIDES,
                             roi_layer=dict(type="RoIAlign", output_size=output_size, sampling_ratio=0)))


@pytest.mark.parametrize("output_size", [7, 14])
def test_srs_has_the_papers_parameter_count_per_branch_and_the_roi_shape(output_size):
    from mmdet.models.roi_heads.roi_extractors import BaseRoIExtractor
    extractor = srs(256, output_size)
    assert isinstance(extractor, BaseRoIExtractor)
    assert n_params(extractor) == 271_620
    with torch.no_grad():
        out = extractor(pyramid(256), rois())
    assert out.shape == (6, 256, output_size, output_size)


def test_srs_differs_from_the_single_level_heuristic_and_every_level_gets_gradient():
    models, _ = registered()
    layer = dict(type="RoIAlign", output_size=7, sampling_ratio=0)
    single = models.build(dict(type="SingleRoIExtractor", roi_layer=layer, out_channels=16, featmap_strides=STRIDES))
    extractor = srs(16)
    feats = pyramid(16, requires_grad=True)
    out = extractor(feats, rois())
    assert not torch.allclose(out, single(feats, rois()))
    out.square().sum().backward()
    for level, feat in enumerate(feats):
        assert feat.grad is not None and feat.grad.abs().sum() > 0, f"no gradient reaches level {level}"


def test_srs_handles_no_rois():
    out = srs(16)(pyramid(16), rois()[:0])
    assert out.shape == (0, 16, 7, 7)
