"""Detector configs from a neck graph: the graph decides everything neck-related in the mmdet model.

:func:`detector_from_graph` takes a graph and a base model (mmdet's own shipped Faster / Mask R-CNN
R50-FPN 1x configs by default) and returns the model config dict in which

* the neck is ``GraphNeck`` with the graph's dict form;
* the RPN anchor strides and the RoI extractors' ``featmap_strides`` follow the graph's output levels,
  and every head input width follows the pyramid width;
* the RoI extractors are ``SRSRoIExtractor`` (7×7 box, independent 14×14 mask) when the graph's
  ``roi_extractor`` is ``srs``;
* the detector is ``NeckSearchTwoStage`` (and the RoI head ``CSRoIHead`` when consistent supervision is
  on) whenever consistent supervision, the MGC orthogonal loss or output DropBlock is on; it reads
  their weights from the graph itself, so the config names the graph once. Otherwise it is mmdet's
  plain ``MaskRCNN`` / ``FasterRCNN`` / ``CascadeRCNN`` (also when the base was the wrapper);
* Cascade R-CNN bases (``CascadeRoIHead``, a list of box heads) work too: every stage reads the pyramid,
  gets SRS extractors (one per stage, as mmdet's CascadeRoIHead builds one extractor per stage) and the
  wrapper's MGC loss / DropBlock. AugFPN defines consistent supervision on a single-stage RoI head, so a
  graph with it on a Cascade base is a :class:`~necksearch.graph.GraphError`;
* ``data_preprocessor.pad_size_divisor`` is 2^level of the coarsest level that an ``extra`` node builds
  straight from a backbone input with a stride (A²-FPN's F6, MSSA's P4: 64), never less than the base's
  (components.md §0).

Build it after ``import necksearch.mmdet`` (which registers the classes), e.g.
``MODELS.build(detector_from_graph('augfpn', 'faster_rcnn'))``; a full training config also needs
``custom_imports = dict(imports=['necksearch.mmdet'], allow_failed_imports=False)``.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from necksearch.catalogue.tables import OP_SLOTS
from necksearch.graph import GraphError, NeckGraph
from necksearch.graph.presets import GraphSpec, resolve_graph

#: mmdet's shipped configs used as bases (relative to ``mmdet/.mim/configs``).
BASE_CONFIGS: Dict[str, str] = {
    "mask_rcnn": "mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py",
    "faster_rcnn": "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
}

#: The detector type used when a graph switches on a detector-level choice.
DETECTOR_TYPE = "NeckSearchTwoStage"
#: NeckSearchTwoStage's own arguments: the graph decides them, so a base's values are dropped.
DETECTOR_ARGS = ("consistent_supervision", "mgc_orthogonal_weight", "output_dropblock", "cs_laterals")
#: RoI heads that consistent supervision (AugFPN, on a single-stage head) can extend, and its head.
CS_BASE_HEADS = ("StandardRoIHead", "CSRoIHead")
CS_ROI_HEAD = "CSRoIHead"
#: The plain mmdet detector of a RoI head type when no detector-level choice needs the wrapper.
PLAIN_DETECTORS = {"CascadeRoIHead": "CascadeRCNN"}
ROI_EXTRACTORS = {"fpn": "SingleRoIExtractor", "srs": "SRSRoIExtractor"}



def mmdet_config_dir() -> Path:
    """``mmdet/.mim/configs`` of the installed mmdet."""
    import mmdet
    return Path(os.path.dirname(mmdet.__file__)) / ".mim" / "configs"


def load_base_config(base: str = "mask_rcnn"):
    """The full mmengine ``Config`` of a base: ``mask_rcnn``, ``faster_rcnn`` or a config file path."""
    from mmengine.config import Config
    path = mmdet_config_dir() / BASE_CONFIGS[base] if base in BASE_CONFIGS else Path(base)
    if not path.is_file():
        raise GraphError(f"unknown base detector {base!r}; use one of {sorted(BASE_CONFIGS)} or a config path")
    return Config.fromfile(str(path))


def detector_from_graph(graph: GraphSpec, base: Union[str, Mapping[str, Any]] = "mask_rcnn", *,
                        in_channels: Optional[Sequence[int]] = None, out_channels: Optional[int] = None,
                        backbone: Optional[Mapping[str, Any]] = None,
                        num_classes: Optional[int] = None):
    """The mmdet model config (a ``ConfigDict``, as mmdet's heads expect) of ``base`` with the neck, and
    what follows from it, given by ``graph``.

    Args:
        graph: a NeckGraph, its dict form, a preset name or a YAML/JSON path.
        base: ``mask_rcnn`` / ``faster_rcnn`` (mmdet's R50-FPN 1x configs), a config file path, or a
            model config dict.
        in_channels: backbone widths; default: ResNet widths of ``backbone`` if given, else the base neck's.
        out_channels: pyramid width; default: the graph's ``channels``.
        backbone: replaces the base's backbone config (e.g. ``dict(type='ResNet', depth=18, ...)``).
        num_classes: replaces the heads' class count.
    """
    graph = resolve_graph(graph)
    model = _base_model(base)
    if backbone is not None:
        model["backbone"] = copy.deepcopy(dict(backbone))
    if in_channels is None:
        in_channels = backbone_widths(model["backbone"]) if backbone is not None else model["neck"]["in_channels"]
    width = graph.channels if out_channels is None else int(out_channels)
    graph = graph.with_channels(width)
    shapes = graph.infer_shapes(dict(zip(graph.inputs, in_channels)))
    strides = [2 ** shapes[name].level for name in graph.outputs]

    model["neck"] = dict(type="GraphNeck", graph=graph.to_dict(), in_channels=list(in_channels), out_channels=width)
    _set_widths_and_strides(model, width, strides)
    _set_roi_extractors(model["roi_head"], graph)
    _set_detector(model, graph)
    if num_classes is not None:
        for head in _heads(model["roi_head"], "bbox_head", "mask_head"):
            head["num_classes"] = int(num_classes)
    divisor = pad_size_divisor(graph, in_channels)
    preprocessor = model.setdefault("data_preprocessor", {})
    preprocessor["pad_size_divisor"] = max(divisor, preprocessor.get("pad_size_divisor", 1))
    from mmengine.config import ConfigDict
    return ConfigDict(model)


def pad_size_divisor(graph: GraphSpec, in_channels: Optional[Sequence[int]] = None) -> int:
    """2^level of the coarsest ``extra`` node that reads a backbone input (strided level from C5), else 1."""
    graph = resolve_graph(graph)
    shapes = graph.infer_shapes(None if in_channels is None else dict(zip(graph.inputs, in_channels)))
    levels = [shapes[node.name].level for node in graph.nodes
              if OP_SLOTS[node.op] == "extra" and node.inputs[0] in graph.inputs]
    return 2 ** max(levels) if levels else 1


def _base_model(base: Union[str, Mapping[str, Any]]) -> Dict[str, Any]:
    if isinstance(base, Mapping):
        model = base.to_dict() if hasattr(base, "to_dict") else copy.deepcopy(dict(base))
        return copy.deepcopy(model)
    return load_base_config(base).model.to_dict()


def backbone_widths(backbone: Mapping[str, Any]) -> list:
    """C2..C5 widths of an mmdet ResNet config (BasicBlock for depth 18/34, Bottleneck otherwise) or of
    necksearch's pretrained :class:`~necksearch.mmdet.backbones.EfficientNetLite0`."""
    if backbone.get("type") == "EfficientNetLite0":
        from necksearch.mmdet.backbones import LITE0_WIDTHS
        return [LITE0_WIDTHS[i - 1] for i in backbone.get("out_indices", (1, 2, 3, 4))]
    if backbone.get("type") not in ("ResNet", "ResNetV1d", "mmdet.ResNet"):
        raise GraphError(f"give in_channels for the backbone {backbone.get('type')!r}")
    expansion = 1 if backbone.get("depth") in (18, 34) else 4
    base = backbone.get("base_channels", 64)
    return [base * expansion * 2 ** i for i in backbone.get("out_indices", (0, 1, 2, 3))]


def _heads(roi_head: Mapping[str, Any], *keys: str) -> list:
    """The configs under ``keys`` of a RoI head; a list (Cascade R-CNN's per-stage heads) is flattened."""
    found = []
    for key in keys:
        value = roi_head.get(key)
        if isinstance(value, (list, tuple)):
            found.extend(value)
        elif value is not None:
            found.append(value)
    return found


def _set_widths_and_strides(model: Dict[str, Any], width: int, strides: Sequence[int]) -> None:
    """Every head reads the pyramid: its input width and the levels' strides follow the graph."""
    rpn = model.get("rpn_head")
    if rpn is not None:
        rpn["in_channels"] = width
        generator = rpn.get("anchor_generator", {})
        if "strides" in generator:
            generator["strides"] = list(strides)
    roi_head = model.get("roi_head", {})
    for extractor in _heads(roi_head, "bbox_roi_extractor", "mask_roi_extractor"):
        extractor["out_channels"] = width
        extractor["featmap_strides"] = list(strides[:len(extractor["featmap_strides"])])
    for head in _heads(roi_head, "bbox_head", "mask_head"):
        head["in_channels"] = width


def _set_roi_extractors(roi_head: Dict[str, Any], graph: NeckGraph) -> None:
    """Box and mask extractors are the graph's: mmdet's SingleRoIExtractor or AugFPN's SRS (Sec. 3.3)."""
    choice = graph.detector.roi_extractor
    if choice not in ROI_EXTRACTORS:
        raise GraphError(f"graph {graph.name!r}: no mmdet RoI extractor for roi_extractor {choice!r}")
    for extractor in _heads(roi_head, "bbox_roi_extractor", "mask_roi_extractor"):
        if choice == "srs" or extractor["type"] == ROI_EXTRACTORS["srs"]:  # fpn leaves other types alone
            extractor["type"] = ROI_EXTRACTORS[choice]
        if choice == "srs":  # SRS pools every RoI from every level: no level-mapping scale
            extractor.pop("finest_scale", None)


def needs_wrapper(graph: GraphSpec) -> bool:
    """Whether the graph switches on a choice only ``NeckSearchTwoStage`` applies (CS, MGC L_o, DropBlock)."""
    choices = resolve_graph(graph).detector
    return choices.consistent_supervision > 0 or choices.mgc_orthogonal_weight > 0 or bool(choices.output_dropblock)


def _set_detector(model: Dict[str, Any], graph: NeckGraph) -> None:
    """The detector type and RoI head type that the graph's choices need (both ways: wrapper or plain)."""
    roi_head = model["roi_head"]
    for key in DETECTOR_ARGS:
        model.pop(key, None)
    if graph.detector.consistent_supervision > 0:
        if roi_head["type"] not in CS_BASE_HEADS:
            raise GraphError(f"graph {graph.name!r}: consistent supervision (AugFPN Sec. 3.1) adds auxiliary heads "
                             f"to a single-stage StandardRoIHead, not to the base's {roi_head['type']}; "
                             f"use a graph with consistent_supervision 0")
        roi_head["type"] = CS_ROI_HEAD
    elif roi_head["type"] == CS_ROI_HEAD:
        roi_head["type"] = CS_BASE_HEADS[0]
    model["type"] = DETECTOR_TYPE if needs_wrapper(graph) else _plain_detector(model)


def _plain_detector(model: Mapping[str, Any]) -> str:
    """mmdet's own class for the model: the base's, or (for a NeckSearchTwoStage base) its RoI head's."""
    if model["type"] != DETECTOR_TYPE:
        return model["type"]
    roi_head = model["roi_head"]
    if roi_head["type"] in PLAIN_DETECTORS:
        return PLAIN_DETECTORS[roi_head["type"]]
    if roi_head["type"] not in CS_BASE_HEADS:
        raise GraphError(f"no plain mmdet detector known for a {DETECTOR_TYPE} with roi_head {roi_head['type']}")
    return "MaskRCNN" if roi_head.get("mask_head") is not None else "FasterRCNN"
