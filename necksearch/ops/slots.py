"""Examples of every slot for the registry-generated tests and the operation benchmark (torch).

``make_example`` builds an operation's structural constructor arguments and forward inputs for a pyramid,
``output_shape`` the shape its slot promises; both read the :class:`~necksearch.catalogue.slot.Slot` (its example
inputs, structural arguments and shape rule), as ``GraphNeck`` does.

Levels follow the detectron2/MMDetection convention: level ``l`` has stride ``2**l`` and, for an
image of H×W passed through a ResNet, size ``ceil(H / 2**l) × ceil(W / 2**l)``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Sequence, Tuple

import torch

from necksearch.catalogue.slot import SLOTS
from necksearch.graph.shapes import NodeShape


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
    slot = SLOTS[spec.slot]

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, dtype=dtype, generator=generator)

    def level_map(shape: NodeShape) -> torch.Tensor:
        return rand(batch, shape.channels, *level_size(image_hw, shape.level))

    step = {"coarser": scale_levels, "finer": -scale_levels}.get(slot.source, 0)
    inputs: Dict[str, Callable[[], List[Tuple[NodeShape, torch.Tensor]]]] = {
        "backbone": lambda: [_map(NodeShape(level, channels * 2 ** (level - 2)), level_map)],
        "backbone levels": lambda: [_map(NodeShape(lvl, channels * 2 ** (lvl - 2)), level_map) for lvl in range(2, 6)],
        "context": lambda: [(NodeShape(None, channels, "context"), rand(batch, channels, context_tokens(channels)))],
        "target": lambda: [_map(NodeShape(level, channels), level_map)],
        "map": lambda: [_map(NodeShape(level, channels), level_map)],
        "source": lambda: [_map(NodeShape(level + step, channels), level_map)],
        "finer map": lambda: [_map(NodeShape(level - scale_levels, channels), level_map)],
        "rois": lambda: [(NodeShape(None, channels), rand(num_rois, channels, roi_size, roi_size)) for _ in range(4)],
    }
    made = [item for kind in slot.example for item in inputs[kind]()]
    shapes, tensors = [shape for shape, _ in made], [tensor for _, tensor in made]
    out = NodeShape(level, channels, scale=2 ** scale_levels)
    kwargs = slot.structural_kwargs(out, shapes, spec.accepts)
    return kwargs, ((tensors,) if slot.takes_list else tuple(tensors))


def _map(shape: NodeShape, make: Callable[[NodeShape], torch.Tensor]) -> Tuple[NodeShape, torch.Tensor]:
    return shape, make(shape)


def output_shape(spec: Any, inputs: Tuple[Any, ...], kwargs: Dict[str, Any]) -> List[int]:
    """The output shape the slot's shape rule promises for ``inputs`` (a context's token count is the op's)."""
    slot = SLOTS[spec.slot]
    first = inputs[0][0] if slot.takes_list else inputs[0]
    if slot.output in ("same", "fusion"):
        return list(first.shape)
    if slot.output == "projection":
        return [first.shape[0], kwargs[slot.width_arg], *first.shape[-2:]]
    if slot.output == "extra":
        scale = kwargs["scale"]
        return [first.shape[0], kwargs[slot.width_arg], -(-first.shape[-2] // scale), -(-first.shape[-1] // scale)]
    raise ValueError(f"slot {spec.slot!r} has no fixed output shape")
