"""MMDetection integration: ``custom_imports = dict(imports=['necksearch.mmdet'])`` registers GraphNeck.

A config then says ``neck=dict(type='GraphNeck', graph='a2fpn', in_channels=[256, 512, 1024, 2048],
out_channels=256)``, ``graph`` being a preset name, a YAML/JSON path or a graph dict.
"""
from mmdet.registry import MODELS

from necksearch.nn import GraphNeck

MODELS.register_module(name="GraphNeck", module=GraphNeck, force=True)

__all__ = ["GraphNeck"]
