"""Parameters and MACs of a neck graph, alone or inside a Mask R-CNN R50, under two counting protocols.

Both protocols return **MACs** (multiply-accumulates), which is what detection papers print as "FLOPs".

``paper`` — an analytic replica of the mmcv-1.x counter (``mmcv.cnn.get_model_complexity_info``) as
mmdet-2.x ``tools/analysis_tools/get_flops.py`` used it; this is how A²-FPN Table 6 was counted
(components.md §8.1). Written by hand as module forward hooks:

* conv (``nn.Conv1d/2d/3d``): k·k·C_in·C_out/groups per output pixel, plus C_out bias adds per output
  pixel when the conv has a bias;
* transposed conv (``nn.ConvTranspose2d``): the same MACs over the *input* pixels, bias adds as
  mmcv writes them (C_out · H_out · H_out — mmcv's own typo, kept; square outputs are unaffected);
* BatchNorm / GroupNorm / InstanceNorm / LayerNorm: 2 × input elements (1 × when not affine);
* ReLU, PReLU, ELU, LeakyReLU, ReLU6 modules: output elements; nn pooling modules: input elements;
* ``nn.Linear``: input elements × out_features, plus out_features bias adds per row when it has a
  bias. mmcv 1.x's Linear hook adds no bias term; it is added here because the paper's per-token and
  per-pixel linears (MGC's W_o, the GCNs' W1..W3) were 1×1 convolutions, whose bias mmcv does count.
  On a stock Mask R-CNN this is +2.45 M MACs (the box head's four FCs on 1000 RoIs, 0.001 %);
* ``nn.Upsample``: output elements of one image.

Not counted, as in mmcv 1.x: anything functional — ``torch.matmul/bmm/einsum``,
``F.scaled_dot_product_attention``, softmax, ``F.interpolate``, ``F.max_pool2d``, ``F.relu``,
element-wise sums and products, RoIAlign, CARAFE/CAP reassembly. Subclasses of the module types
above are counted too (mmcv 1.x matched exact types, but listed its own wrapper subclasses, which
are the only subclasses a stock Mask R-CNN uses). MGC distributors are counted in the per-pixel
W_o form (``project_after_aggregation=True``, components.md §2.4). Params = trainable parameters
only (``requires_grad``): mmdet's ResNet-50 freezes its stem and layer1.

``full`` — every multiply-accumulate a library counter sees: ``torch.utils.flop_counter.FlopCounterMode``
(convolutions, transposed convolutions, mm/addmm/bmm — hence einsum and the unfold-based reassembly —
and scaled-dot-product attention on every backend), halved because it reports FLOPs = 2 × MACs. It
counts no bias adds, norms, activations or pooling. MGC is counted as the graph builds it. Params = all
parameters.

The detector is the one ``necksearch train`` builds: :func:`necksearch.mmdet.detector_from_graph` on mmdet's
Mask R-CNN R50 1x config, so the graph's detector choices show: SRS RoI extractors (AugFPN Sec. 3.3; one per
branch, counted in ``roi_head``) and the data preprocessor's ``pad_size_divisor`` (64 for a graph with a
strided extra level from C5). It is the inference model: consistent supervision's auxiliary heads are
dropped ("the auxiliary branches are abandoned", AugFPN Sec. 3.1), and the MGC loss and DropBlock add
nothing at inference.

The dummy pass mimics mmdet-2.x ``TwoStageDetector.forward_dummy`` on one 3×H×W image, padded as the
detector's data preprocessor pads it (up to a multiple of ``pad_size_divisor``; a note says when that
changes the size): backbone, neck, RPN head on every level, the box branch on 1000 random proposals (RoI
features from the detector's extractor) and the mask branch on the first 100. ``count_neck`` feeds the neck
alone with the maps a ResNet makes from an H×W image (level k: ⌈H/2^k⌉ × ⌈W/2^k⌉), so its MACs equal the
detector's ``neck`` part whenever the image needs no padding (e.g. A²-FPN's 1280×832).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from necksearch.analysis.counters import Tally, paper_rule, tally_for
from necksearch.errors import NeckSearchError
from necksearch.graph import NeckGraph
from necksearch.graph.presets import GraphSpec, resolve_graph
from necksearch.graph.shapes import RESNET50_WIDTHS
from necksearch.graph.structure import backbone_level
from necksearch.ops.slots import level_size

PROTOCOLS = ("paper", "full")
#: A²-FPN Table 6 input (H, W): every level up to P6 is exact.
DEFAULT_IMAGE: Tuple[int, int] = (1280, 832)
RESNET50_CHANNELS: Tuple[int, ...] = tuple(RESNET50_WIDTHS.values())
#: The base of :func:`necksearch.mmdet.detector_from_graph`: mmdet's shipped Mask R-CNN R50-FPN 1x config.
MASK_RCNN_BASE = "mask_rcnn"
#: The detector's pyramid width (A²-FPN Table 6 counts every neck at 256 output channels).
DETECTOR_WIDTH = 256
#: forward_dummy of mmdet 2.x: random proposals for the box branch, the first ones for the mask branch.
NUM_PROPOSALS = 1000
NUM_MASK_ROIS = 100
#: The neck outputs mmdet's Mask R-CNN expects (RPN anchor strides 4..64).
DETECTOR_LEVELS = (2, 3, 4, 5, 6)

Progress = Optional[Callable[[str], None]]


@dataclasses.dataclass(frozen=True)
class Complexity:
    """A count: ``params``, ``macs`` and where the MACs come from.

    Attributes:
        params: trainable (paper) or all (full) parameters.
        macs: multiply-accumulates of one image.
        protocol: ``paper`` or ``full``.
        image_hw: (H, W) of the image.
        parts: MACs per stage (``neck``; for a detector also ``backbone``, ``rpn_head``, ``roi_head``).
        part_params: parameters per stage, counted as ``params`` is.
        terms: MACs per kind — paper: conv, conv_bias, deconv, deconv_bias, norm, act, pool, linear,
            linear_bias, upsample; full: one entry per ATen op (convolution, addmm, bmm, ...).
        seconds: wall time of the count, building included.
        device: where the pass ran (``meta``: shapes only).
        notes: anything the count does not model.
    """

    params: int
    macs: int
    protocol: str
    image_hw: Tuple[int, int]
    parts: Dict[str, int]
    part_params: Dict[str, int]
    terms: Dict[str, int]
    seconds: float
    device: str = "meta"
    notes: Tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------------
# public API


def count_neck(graph: GraphSpec, image_hw: Sequence[int] = DEFAULT_IMAGE, protocol: str = "paper",
               in_channels: Sequence[int] = RESNET50_CHANNELS) -> Tuple[int, int]:
    """(params, MACs) of the neck alone on the backbone maps of an ``image_hw`` = (H, W) image."""
    result = neck_complexity(graph, image_hw, protocol, in_channels)
    return result.params, result.macs


def count_detector(graph: GraphSpec, image_hw: Sequence[int] = DEFAULT_IMAGE,
                   protocol: str = "paper") -> Tuple[int, int]:
    """(params, MACs) of a Mask R-CNN R50 with this neck (mmdet's 1x config, 256-wide neck outputs)."""
    result = detector_complexity(graph, image_hw, protocol)
    return result.params, result.macs


def neck_complexity(graph: GraphSpec, image_hw: Sequence[int] = DEFAULT_IMAGE, protocol: str = "paper",
                    in_channels: Sequence[int] = RESNET50_CHANNELS, device: str = "meta") -> Complexity:
    """:class:`Complexity` of the neck alone (see the module docstring for the protocols).

    ``device``: where the pass runs. ``meta`` (default) propagates shapes only, which is all either
    counter reads, in well under a second; if an op cannot run there the count is redone on the CPU
    (and a note says so). ``cpu`` / ``cuda`` run real random maps.
    """
    from necksearch.nn import GraphNeck
    protocol, image_hw = _check_protocol(protocol), check_image(image_hw)
    graph = resolve_graph(graph)
    levels = [backbone_level(name) for name in graph.inputs]

    def build() -> nn.Module:
        return GraphNeck(graph, in_channels=list(in_channels))

    def run(neck: nn.Module, tally: Tally, where: torch.device) -> None:
        generator = torch.Generator().manual_seed(0)
        inputs = [_random((1, c, *level_size(image_hw, k)), generator, where) for k, c in zip(levels, in_channels)]
        with tally.part("neck"):
            neck(inputs)

    return _measure(build, run, protocol, image_hw, device, parts=None)


def detector_complexity(graph: GraphSpec, image_hw: Sequence[int] = DEFAULT_IMAGE, protocol: str = "paper",
                        progress: Progress = None, device: str = "meta") -> Complexity:
    """:class:`Complexity` of a Mask R-CNN R50 around the neck, on a forward_dummy-like pass.

    ``progress``, if given, is called with a short message before each slow step; ``device`` as in
    :func:`neck_complexity` (on ``meta`` the RoI features are empty tensors of the extractor's output
    shape, fused by SRS when the extractor has it: RoIAlign has no meta kernel, and neither protocol
    counts anything in it).
    """
    protocol, image_hw = _check_protocol(protocol), check_image(image_hw)
    graph = resolve_graph(graph)
    _check_detector_outputs(graph)
    say = progress or (lambda message: None)
    config = mask_rcnn_config(graph)
    divisor = config.data_preprocessor.pad_size_divisor
    padded = padded_size(image_hw, divisor)
    notes: List[str] = []
    if padded != image_hw:
        notes.append(f"the detector pads the {image_hw[0]}×{image_hw[1]} image to {padded[0]}×{padded[1]} "
                     f"(pad_size_divisor {divisor}); the neck alone is counted unpadded")

    def build() -> nn.Module:
        say("building Mask R-CNN R50")
        return _build_inference_model(config)

    def run(model: nn.Module, tally: Tally, where: torch.device) -> None:
        say(f"counting ({protocol} protocol, {padded[0]}×{padded[1]}, {where.type})")
        _dummy_pass(model, padded, tally, where)

    result = _measure(build, run, protocol, image_hw, device, parts=("backbone", "neck", "rpn_head", "roi_head"))
    return dataclasses.replace(result, notes=tuple(notes) + result.notes)


def mask_rcnn_config(graph: GraphSpec):
    """The model config :func:`build_mask_rcnn` builds: ``detector_from_graph`` on mmdet's Mask R-CNN R50 1x
    with 256-wide neck outputs, without the backbone's pretrained-weights ``init_cfg``."""
    from necksearch.mmdet.config import detector_from_graph
    config = detector_from_graph(graph, MASK_RCNN_BASE, out_channels=DETECTOR_WIDTH)
    config.backbone.pop("init_cfg", None)
    return config


def build_mask_rcnn(graph: GraphSpec) -> nn.Module:
    """The inference Mask R-CNN R50 1x of a graph, as ``necksearch train`` builds it (:func:`mask_rcnn_config`)
    but without consistent supervision's training-only heads; no pretrained weights are loaded."""
    return _build_inference_model(mask_rcnn_config(graph))


def _build_inference_model(config) -> nn.Module:
    from mmengine.registry import DefaultScope
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import necksearch.mmdet  # noqa: F401  (registers GraphNeck, SRSRoIExtractor, NeckSearchTwoStage)

    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope("mmdet"):
        model = MODELS.build(config)
    strip = getattr(model, "strip_training_only", None)
    return strip() if strip is not None else model


def padded_size(image_hw: Sequence[int], divisor: int) -> Tuple[int, int]:
    """(H, W) rounded up to multiples of ``divisor``, as mmdet's DetDataPreprocessor pads a batch."""
    return tuple(-(-int(side) // divisor) * divisor for side in image_hw)


# ------------------------------------------------------------------------------------------------
# running a pass


def _measure(build: Callable[[], nn.Module], run: Callable[[nn.Module, "Tally", torch.device], None],
             protocol: str, image_hw: Tuple[int, int], device: str,
             parts: Optional[Sequence[str]]) -> Complexity:
    """Build, count parameters, run ``run`` under the protocol's tally (meta first, CPU on failure)."""
    started = time.perf_counter()
    where = torch.device(device)
    model = build().eval()
    _prepare(model, protocol)
    params = _params(model, protocol)
    part_params = ({name: _params(getattr(model, name), protocol) for name in parts} if parts
                   else {"neck": params})
    notes: List[str] = []
    try:
        tally = _run(model.to(where), run, protocol, where)
    except (RuntimeError, NotImplementedError, TypeError, ValueError, IndexError) as error:
        if where.type != "meta":
            raise
        notes.append(f"counted on the CPU: the shape-only (meta) pass failed: {type(error).__name__}: {error}")
        where = torch.device("cpu")
        model = build().eval()
        _prepare(model, protocol)
        tally = _run(model, run, protocol, where)
    return Complexity(params=params, macs=tally.total, protocol=protocol, image_hw=image_hw,
                      parts=dict(tally.parts), part_params=part_params, terms=dict(tally.terms),
                      seconds=time.perf_counter() - started, device=where.type, notes=tuple(notes))


def _run(model: nn.Module, run: Callable, protocol: str, where: torch.device) -> "Tally":
    with torch.no_grad(), tally_for(model, protocol) as tally:
        run(model, tally, where)
    return tally


def _random(shape: Sequence[int], generator: torch.Generator, where: torch.device) -> torch.Tensor:
    if where.type == "meta":
        return torch.empty(*shape, device=where)
    return torch.randn(*shape, generator=generator).to(where)


def _dummy_pass(model: nn.Module, image_hw: Tuple[int, int], tally: "Tally", where: torch.device) -> None:
    """mmdet-2.x forward_dummy: backbone, neck, RPN head, box head on 1000 proposals, mask head on 100."""
    from mmdet.structures.bbox import bbox2roi
    generator = torch.Generator().manual_seed(0)
    image = _random((1, 3, *image_hw), generator, where)
    with tally.part("backbone"):
        features = model.backbone(image)
    with tally.part("neck"):
        features = model.neck(features)
    with tally.part("rpn_head"):
        model.rpn_head(features)
    rois = bbox2roi([random_proposals(NUM_PROPOSALS, image_hw, generator)])
    roi_head = model.roi_head
    with tally.part("roi_head"):   # StandardRoIHead._bbox_forward / _mask_forward (no shared head)
        roi_head.bbox_head(_roi_features(roi_head.bbox_roi_extractor, features, rois))
        roi_head.mask_head(_roi_features(roi_head.mask_roi_extractor, features, rois[:NUM_MASK_ROIS]))


def _roi_features(extractor: nn.Module, features: Sequence[torch.Tensor], rois: torch.Tensor) -> torch.Tensor:
    """The RoI extractor's output. On meta: an empty tensor of its shape per level (RoIAlign holds nothing
    countable), fused by the SRS extractor's ``fusion`` (its ASF convs are counted) when it has one."""
    if features[0].device.type != "meta":
        return extractor(features[: extractor.num_inputs], rois.to(features[0].device))
    pooled = torch.empty(len(rois), extractor.out_channels, *extractor.roi_layers[0].output_size, device="meta")
    from necksearch.mmdet.roi_extractors import SRSRoIExtractor
    if isinstance(extractor, SRSRoIExtractor):
        return extractor.fusion([pooled] * extractor.num_inputs)
    if any(True for _ in extractor.parameters()) or any(paper_rule(m) for m in extractor.modules()):
        raise NotImplementedError(f"{type(extractor).__name__} has layers of its own: count it on the CPU")
    return pooled


def random_proposals(count: int, image_hw: Sequence[int], generator: torch.Generator) -> torch.Tensor:
    """``count`` valid random boxes (x1, y1, x2, y2) inside an H×W image (their values change no count)."""
    h, w = image_hw
    corners = torch.rand(count, 2, 2, generator=generator) * torch.tensor([w, h], dtype=torch.float32)
    low, high = corners.min(dim=1).values, corners.max(dim=1).values
    return torch.cat([low, high + 1.0], dim=1)


# ------------------------------------------------------------------------------------------------
# helpers


def _prepare(model: nn.Module, protocol: str) -> None:
    """Paper protocol: MGC distributors apply W_o per pixel after aggregation (the form Table 6 counts)."""
    if protocol == "paper":
        for module in model.modules():
            if hasattr(module, "project_after_aggregation"):
                module.project_after_aggregation = True


def _params(model: nn.Module, protocol: str) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or protocol == "full")


def _check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise NeckSearchError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    return protocol


def check_image(image_hw: Sequence[int]) -> Tuple[int, int]:
    """(H, W) as ints, or ``NeckSearchError`` unless both are at least 64."""
    size = tuple(int(s) for s in image_hw)
    if len(size) != 2 or min(size) < 64:
        raise NeckSearchError(f"image size must be two integers H W, each at least 64, got {tuple(image_hw)}")
    return size


def _check_detector_outputs(graph: NeckGraph) -> None:
    shapes = graph.infer_shapes()
    levels = tuple(shapes[name].level for name in graph.outputs)
    if levels != DETECTOR_LEVELS:
        raise NeckSearchError(f"graph {graph.name!r}: Mask R-CNN needs neck outputs at "
                              f"{', '.join(f'P{k}' for k in DETECTOR_LEVELS)}, the graph has "
                              f"{', '.join(f'P{k}' for k in levels)}")
