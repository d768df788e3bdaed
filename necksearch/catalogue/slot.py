"""Slots: where in a neck an operation sits, and everything that follows from it (torch-free).

Every operation of a slot is built and called the same way, so a graph can swap one for another. A
:class:`Slot` owns that convention, as mmcv's ``BaseMergeCell`` owns resize, combine and output conv: how many
inputs a node of it takes, which constructor argument sets its width, the shape rule of its output, the
structural constructor arguments that shape inference fixes, and how its module is called. Shape inference
(:mod:`necksearch.graph.shapes`), ``GraphNeck`` and the example builder of the generated tests
(:mod:`necksearch.ops.slots`) all read it; none of them branches on a slot's name.

Levels follow the detectron2/MMDetection convention: level ``l`` has stride ``2**l``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

#: Where a structural constructor argument's value comes from, given the node's output shape and its inputs'.
#: A shape is anything with ``channels`` and ``scale`` (``necksearch.graph.NodeShape``).
ARG_SOURCES: Dict[str, Callable[[Any, Sequence[Any]], Any]] = {
    "output width": lambda out, inputs: out.channels,
    "first input width": lambda out, inputs: inputs[0].channels,
    "second input width": lambda out, inputs: inputs[1].channels,
    "input widths": lambda out, inputs: [shape.channels for shape in inputs],
    "scale": lambda out, inputs: out.scale,
    "levels": lambda out, inputs: len(inputs),
}


@dataclasses.dataclass(frozen=True)
class Slot:
    """A place in the neck and the convention its operations share.

    Attributes:
        name, description, signature: the slot in words (``necksearch ops`` prints them).
        structural: (constructor argument, where its value comes from: a key of :data:`ARG_SOURCES`), in order;
            ``scale`` is passed to the ops that take it, and must then be a fixed power of two ≥ 2.
        arity: (fewest, most) inputs of a graph node (``None``: no bound); ``None`` for a slot that is no
            graph node (``roi``: selected by ``detector.roi_extractor``).
        width_arg: the constructor argument a node may set in its ``args`` (the graph width otherwise), if any.
        output: the shape rule (``necksearch.graph.shapes``): ``projection`` (at the first input's level, its own
            width), ``context`` (no level), ``same`` (the first input's level and width), ``extra`` (a coarser
            level, its own width), ``fusion`` (the target's level and width, sources of equal width).
        level: ``first`` (the first input's), ``coarser`` (above the first input's unless the node gives it) or
            ``none`` (a context).
        context_input: the index of the input that must be a context (and no other may be).
        source: a fusion's sources are ``coarser`` or ``finer`` than its target (variadic ops: either).
        takes_list: the module takes its inputs as one list (``Op([x_l...])``), not as separate arguments.
        example: the inputs the generated tests and the benchmark feed it (``necksearch.ops.slots``).
    """

    name: str
    description: str
    signature: str
    structural: Tuple[Tuple[str, str], ...]
    arity: Optional[Tuple[int, Optional[int]]]
    width_arg: Optional[str] = None
    output: Optional[str] = None
    level: str = "first"
    context_input: Optional[int] = None
    source: Optional[str] = None
    takes_list: bool = False
    example: Tuple[str, ...] = ()

    @property
    def structural_args(self) -> Tuple[str, ...]:
        """The constructor arguments shape inference fixes (never hyper-parameters)."""
        return tuple(name for name, _ in self.structural)

    @property
    def is_node(self) -> bool:
        """Whether a graph node may use an op of this slot."""
        return self.arity is not None

    def structural_kwargs(self, out: Any, inputs: Sequence[Any], accepts: Callable[[str], bool]) -> Dict[str, Any]:
        """The structural constructor arguments of a node with output shape ``out`` and input shapes ``inputs``,
        for an op that ``accepts`` (argument name → bool) them; ``ValueError`` for a scale that is not fixed."""
        kwargs = {}
        for name, source in self.structural:
            if name == "scale" and not accepts(name):
                continue
            kwargs[name] = ARG_SOURCES[source](out, inputs)
            if name == "scale" and (kwargs[name] is None or kwargs[name] < 2):
                raise ValueError("needs its source a fixed number of levels (≥ 1) away from its target")
        return kwargs

    def call(self, module: Any, inputs: Sequence[Any]) -> Any:
        """Apply ``module`` (an op of this slot) to a node's input maps."""
        return module(list(inputs)) if self.takes_list else module(*inputs)


_FUSION = dict(structural=(("channels", "output width"), ("scale", "scale")), arity=(2, 2), output="fusion",
               example=("target", "source"))

SLOTS: Dict[str, Slot] = {slot.name: slot for slot in (
    Slot("lateral", "lateral extraction from one backbone level",
         "Op(in_channels, out_channels, **hp)(x) -> (B, out_channels, H, W)",
         (("in_channels", "first input width"), ("out_channels", "output width")), (1, 1), "out_channels",
         "projection", example=("backbone",)),
    Slot("context", "multi-level context collection (reads every backbone level)",
         "Op(in_channels: list, context_channels, **hp)([x_l...]) -> (B, context_channels, n)",
         (("in_channels", "input widths"), ("context_channels", "output width")), (1, None), "context_channels",
         "context", level="none", takes_list=True, example=("backbone levels",)),
    Slot("distribute", "lateral extraction that also reads a multi-level context",
         "Op(in_channels, out_channels, context_channels, **hp)(x, context) -> (B, out_channels, H, W)",
         (("in_channels", "first input width"), ("out_channels", "output width"),
          ("context_channels", "second input width")), (2, 2), "out_channels", "projection", context_input=1,
         example=("backbone", "context")),
    Slot("up", "coarse→fine fusion; output at the target (finer) level's size",
         "Op(channels, [scale], **hp)(target, source) -> target-sized map", source="coarser", **_FUSION),
    Slot("down", "fine→coarse fusion; output at the target (coarser) level's size",
         "Op(channels, [scale], **hp)(target, source) -> target-sized map", source="finer", **_FUSION),
    Slot("extra", "a new coarser level made from one map (P6 from P5 or C5)",
         "Op(in_channels, out_channels, scale)(x) -> (B, out_channels, ⌈H/s⌉, ⌈W/s⌉)",
         (("in_channels", "first input width"), ("out_channels", "output width"), ("scale", "scale")), (1, 1),
         "out_channels", "extra", level="coarser", example=("finer map",)),
    Slot("unary", "refinement of one map", "Op(channels, **hp)(x) -> x-shaped map",
         (("channels", "output width"),), (1, 1), output="same", example=("map",)),
    Slot("roi", "fusion of one RoI's features pooled from every level",
         "Op(channels, num_levels, **hp)([roi_l...]) -> (R, channels, k, k)",
         (("channels", "output width"), ("num_levels", "levels")), None, output="same", takes_list=True,
         example=("rois",)),
)}
