"""MMDetection integration: ``custom_imports = dict(imports=['necksearch.mmdet'])`` registers in mmdet's MODELS:

* ``EfficientNetLite0`` — an ImageNet-pretrained backbone (timm's architecture, weights from a registry
  package), the default proxy's.
* ``GraphNeck`` — the neck a graph describes. A config says ``neck=dict(type='GraphNeck', graph='a2fpn',
  in_channels=[256, 512, 1024, 2048], out_channels=256)``, ``graph`` being a preset name, a YAML/JSON
  path or a graph dict.
* ``SuperNeck`` — the weight-sharing supernet of one template of a space (``necksearch.nn.super_neck``).
* ``SRSRoIExtractor`` — AugFPN Soft RoI Selection (RoIAlign on all levels + the ``srs`` op).
* ``CSRoIHead`` — StandardRoIHead plus AugFPN consistent supervision (training only).
* ``NeckSearchTwoStage`` — Faster / Mask R-CNN applying the graph's detector-level choices
  (consistent supervision, MGC orthogonal loss, output DropBlock).

Importing it also makes mmengine read local checkpoints weights-only with a narrow allow-list of mmengine's
own classes (:mod:`necksearch.mmdet.checkpoint`), so MMDetection's ``tools/test.py`` evaluates the checkpoints
its ``tools/train.py`` and ``necksearch train`` write (torch ≥ 2.6 refuses them otherwise).

:func:`detector_from_graph` writes the whole model config from a graph.
"""
from mmdet.registry import MODELS

from necksearch.mmdet import checkpoint
from necksearch.mmdet.backbones import EfficientNetLite0
from necksearch.mmdet.config import detector_from_graph, load_base_config, pad_size_divisor
from necksearch.mmdet.detector import NeckSearchTwoStage, deploy_state_dict, training_only_keys
from necksearch.mmdet.laterals import find_laterals
from necksearch.mmdet.roi_extractors import SRSRoIExtractor
from necksearch.mmdet.roi_head import CSRoIHead
from necksearch.nn import GraphNeck
from necksearch.nn.super_neck import SuperNeck

for _name, _module in (("EfficientNetLite0", EfficientNetLite0), ("GraphNeck", GraphNeck),
                       ("SRSRoIExtractor", SRSRoIExtractor), ("CSRoIHead", CSRoIHead),
                       ("NeckSearchTwoStage", NeckSearchTwoStage), ("SuperNeck", SuperNeck)):
    MODELS.register_module(name=_name, module=_module, force=True)
checkpoint.install()

__all__ = ["CSRoIHead", "EfficientNetLite0", "GraphNeck", "NeckSearchTwoStage", "SRSRoIExtractor", "SuperNeck",
           "deploy_state_dict", "detector_from_graph", "find_laterals", "load_base_config", "pad_size_divisor", "training_only_keys"]
