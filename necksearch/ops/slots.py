"""Operation slots: where in a neck an operation sits, its constructor and forward signature.

Every operation of a slot is built and called the same way, so a neck graph (or a test, or the
benchmark) can swap one for another. ``make_example`` builds a module's structural arguments and
inputs for a pyramid, for the registry-generated tests and the operation benchmark.

Levels follow the detectron2/MMDetection convention: level ``l`` has stride ``2**l`` and, for an
image of H×W passed through a ResNet, size ``ceil(H / 2**l) × ceil(W / 2**l)``.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, List, Sequence, Tuple

import torch


@dataclasses.dataclass(frozen=True)
class Slot:
    """A place in the neck and the calling convention its operations share."""

    description: str
    signature: str
    structural_args: Tuple[str, ...]


SLOTS: Dict[str, Slot] = {
    "lateral": Slot("lateral extraction from one backbone level",
                    "Op(in_channels, out_channels, **hp)(x) -> (B, out_channels, H, W)",
                    ("in_channels", "out_channels")),
    "context": Slot("multi-level context collection (reads every backbone level)",
                    "Op(in_channels: list, context_channels, **hp)([x_l...]) -> (B, context_channels, n)",
                    ("in_channels", "context_channels")),
    "distribute": Slot("lateral extraction that also reads a multi-level context",
                       "Op(in_channels, out_channels, context_channels, **hp)(x, context) -> (B, out_channels, H, W)",
                       ("in_channels", "out_channels", "context_channels")),
    "up": Slot("coarse→fine fusion; output at the target (finer) level's size",
               "Op(channels, [scale], **hp)(target, source) -> target-sized map",
               ("channels", "scale")),
    "down": Slot("fine→coarse fusion; output at the target (coarser) level's size",
                 "Op(channels, [scale], **hp)(target, source) -> target-sized map",
                 ("channels", "scale")),
    "extra": Slot("a new coarser level made from one map (P6 from P5 or C5)",
                  "Op(in_channels, out_channels, scale)(x) -> (B, out_channels, ⌈H/s⌉, ⌈W/s⌉)",
                  ("in_channels", "out_channels", "scale")),
    "unary": Slot("refinement of one map", "Op(channels, **hp)(x) -> x-shaped map", ("channels",)),
    "roi": Slot("fusion of one RoI's features pooled from every level",
                "Op(channels, num_levels, **hp)([roi_l...]) -> (R, channels, k, k)",
                ("channels", "num_levels")),
}


def level_size(image_hw: Sequence[int], level: int) -> Tuple[int, int]:
    """Size of level ``level`` (stride 2**level) for an image of ``image_hw`` under a ResNet."""
    stride = 2 ** level
    return math.ceil(image_hw[0] / stride), math.ceil(image_hw[1] / stride)


def context_tokens(channels: int) -> int:
    """Context size used for examples: A²-FPN's n = 640 at c = 256, scaled with the width."""
    return max(4, 5 * channels // 2)


def make_example(spec: Any, *, channels: int, image_hw: Sequence[int], batch: int = 2, level: int = 3,
                 scale_levels: int = 1, num_rois: int = 8, roi_size: int = 7,
                 dtype: torch.dtype = torch.float32, generator: torch.Generator | None = None,
                 ) -> Tuple[Dict[str, Any], Tuple[Any, ...]]:
    """Structural constructor arguments and forward inputs for ``spec`` at ``level``.

    Args:
        spec: an :class:`~necksearch.ops.registry.OpSpec`.
        channels: pyramid width c; backbone level l has ``c * 2**(l-2)`` channels (ResNet ratio).
        image_hw: image size that the pyramid comes from.
        level: the level the operation writes (for ``down``, the coarser one).
        scale_levels: levels between target and source of a fusion (1 = adjacent, 2 = ×4, ...).
    """
    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, dtype=dtype, generator=generator)

    def level_map(lvl: int, width: int) -> torch.Tensor:
        return rand(batch, width, *level_size(image_hw, lvl))

    backbone_width = lambda lvl: channels * 2 ** (lvl - 2)  # noqa: E731
    slot = spec.slot
    if slot == "lateral":
        return ({"in_channels": backbone_width(level), "out_channels": channels},
                (level_map(level, backbone_width(level)),))
    if slot == "context":
        levels = range(2, 6)
        return ({"in_channels": [backbone_width(lvl) for lvl in levels], "context_channels": channels},
                ([level_map(lvl, backbone_width(lvl)) for lvl in levels],))
    if slot == "distribute":
        return ({"in_channels": backbone_width(level), "out_channels": channels, "context_channels": channels},
                (level_map(level, backbone_width(level)), rand(batch, channels, context_tokens(channels))))
    if slot in ("up", "down"):
        kwargs: Dict[str, Any] = {"channels": channels}
        if spec.accepts("scale"):
            kwargs["scale"] = 2 ** scale_levels
        source_level = level + scale_levels if slot == "up" else level - scale_levels
        return kwargs, (level_map(level, channels), level_map(source_level, channels))
    if slot == "extra":
        source_level = level - scale_levels
        return ({"in_channels": channels, "out_channels": channels, "scale": 2 ** scale_levels},
                (level_map(source_level, channels),))
    if slot == "unary":
        return {"channels": channels}, (level_map(level, channels),)
    if slot == "roi":
        return ({"channels": channels, "num_levels": 4},
                ([rand(num_rois, channels, roi_size, roi_size) for _ in range(4)],))
    raise ValueError(f"no example builder for slot {slot!r}")


def output_shape(spec: Any, inputs: Tuple[Any, ...], kwargs: Dict[str, Any]) -> List[int]:
    """The output shape the slot's signature promises for ``inputs``."""
    slot = spec.slot
    if slot in ("lateral", "distribute"):
        x = inputs[0]
        return [x.shape[0], kwargs["out_channels"], *x.shape[-2:]]
    if slot == "extra":
        x, s = inputs[0], kwargs["scale"]
        return [x.shape[0], kwargs["out_channels"], -(-x.shape[-2] // s), -(-x.shape[-1] // s)]
    if slot in ("up", "down", "unary"):
        return list(inputs[0].shape)
    if slot == "roi":
        return list(inputs[0][0].shape)
    raise ValueError(f"slot {slot!r} has no fixed output shape")
