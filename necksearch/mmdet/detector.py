"""``NeckSearchTwoStage``: Faster / Mask / Cascade R-CNN whose neck graph's detector-level choices take effect.

One class for all three (a Mask R-CNN is a two-stage detector whose RoI head has a mask head; mmdet's
``CascadeRCNN`` is a plain ``TwoStageDetector`` whose ``CascadeRoIHead`` takes the same ``loss`` call, so
the MGC loss and DropBlock apply to it unchanged; consistent supervision needs ``CSRoIHead``). On top of
mmdet's ``TwoStageDetector`` it adds, as the neck's graph (``neck.graph.detector``) asks unless the
constructor overrides it:

* Consistent Supervision (AugFPN; training only): ``extract_feat`` asks the GraphNeck for the laterals
  M2..M5 as well (``neck(x, return_nodes=...)``; found by :func:`~necksearch.mmdet.laterals.find_laterals`)
  and hands them to the ``CSRoIHead`` for the loss ``TwoStageDetector.loss`` computes; they never reach the
  RPN. ``loss``, ``predict`` and ``_forward`` are TwoStageDetector's (``loss`` adds ``loss_orth``); outside
  training the auxiliary heads never run.
* ``loss_orth = mgc_orthogonal_weight × neck.orthogonal_loss()`` (A²-FPN's MGC regulariser).
* DropBlock on every neck output (FPT), training mode only (the op is the identity in eval mode).

Deployment: :func:`deploy_state_dict` drops the training-only parameters (``roi_head.cs_*``) from a
model or a checkpoint; :meth:`NeckSearchTwoStage.strip_training_only` deletes them in place. The
inference model is the same config with ``consistent_supervision=0``: it has exactly the parameters
of the detector with CS off and loads training checkpoints strictly.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from mmdet.models.detectors import TwoStageDetector
from mmdet.structures import SampleList
from torch import Tensor, nn

from necksearch.graph import GraphError
from necksearch.mmdet.laterals import check_laterals, find_laterals
from necksearch.mmdet.roi_head import CS_PREFIX, CSRoIHead
from necksearch.ops import build_op

#: State-dict keys of the training-only modules (the auxiliary consistent-supervision heads).
TRAINING_ONLY_KEY = re.compile(r"(^|\.)roi_head\." + CS_PREFIX)


class NeckSearchTwoStage(TwoStageDetector):
    """Two-stage detector (Faster, Mask or Cascade R-CNN) with a ``GraphNeck`` and its detector-level choices.

    Registered in mmdet's ``MODELS`` as ``NeckSearchTwoStage``.

    Args:
        consistent_supervision: CS weight per level; ``None`` = the graph's. Needs ``roi_head.type='CSRoIHead'``.
        mgc_orthogonal_weight: λ_o of ``loss_orth``; ``None`` = the graph's.
        output_dropblock: DropBlock arguments for every neck output; ``None`` = the graph's, ``False`` = off.
        cs_laterals: node names of the laterals, one per level; ``None`` = derived from the graph.
        The others are TwoStageDetector's.
    """

    def __init__(self, backbone, neck=None, rpn_head=None, roi_head=None, train_cfg=None, test_cfg=None,
                 data_preprocessor=None, init_cfg=None, consistent_supervision: Optional[float] = None,
                 mgc_orthogonal_weight: Optional[float] = None,
                 output_dropblock: Union[None, bool, Mapping[str, Any]] = None,
                 cs_laterals: Optional[Sequence[str]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        graph = getattr(self.neck, "graph", None) if self.with_neck else None
        if graph is None:
            raise GraphError("NeckSearchTwoStage needs a GraphNeck neck (neck=dict(type='GraphNeck', graph=...))")
        choices = graph.detector
        cs = choices.consistent_supervision if consistent_supervision is None else float(consistent_supervision)
        self.mgc_orthogonal_weight = (choices.mgc_orthogonal_weight if mgc_orthogonal_weight is None
                                      else float(mgc_orthogonal_weight))
        if output_dropblock is None:
            output_dropblock = choices.output_dropblock
        self.output_dropblock: Optional[nn.Module] = None
        if output_dropblock:
            self.output_dropblock = build_op("dropblock", channels=graph.channels, **dict(output_dropblock))
        self.cs_laterals: Tuple[str, ...] = ()
        if cs > 0:
            self._init_consistent_supervision(cs, cs_laterals)

    def _init_consistent_supervision(self, weight: float, names: Optional[Sequence[str]]) -> None:
        if not isinstance(self.roi_head, CSRoIHead):
            raise GraphError(f"consistent_supervision={weight} needs roi_head=dict(type='CSRoIHead', ...), "
                             f"got {type(self.roi_head).__name__}")
        graph, shapes = self.neck.graph, self.neck.shapes
        laterals = check_laterals(graph, names, shapes) if names else find_laterals(graph, _widths(self.neck))
        widths = {shapes[name].channels for name in laterals.values()}
        if len(widths) != 1:
            raise GraphError(f"graph {graph.name!r}: the laterals {list(laterals.values())} must have one width "
                             f"for the shared auxiliary head, got {sorted(widths)}")
        self.cs_laterals = tuple(laterals.values())
        self.roi_head.init_consistent_supervision(weight, tuple(laterals), widths.pop())

    @property
    def with_cs(self) -> bool:
        """Whether consistent supervision is on (its auxiliary heads exist)."""
        return bool(self.cs_laterals) and isinstance(self.roi_head, CSRoIHead) and self.roi_head.with_cs

    # -- features ----------------------------------------------------------------------------------------
    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """Backbone → GraphNeck → DropBlock (training mode only) on every output. In training with consistent
        supervision the same neck pass also yields the laterals, handed to the ``CSRoIHead`` for the loss that
        ``TwoStageDetector.loss`` computes next (they never reach the RPN)."""
        use_cs = self.training and self.with_cs
        feats = self.backbone(batch_inputs)
        if use_cs:
            x, taps = self.neck(feats, return_nodes=self.cs_laterals)
            self.roi_head.hand_laterals([taps[name] for name in self.cs_laterals])
        else:
            x = self.neck(feats)
        if self.output_dropblock is not None:
            x = tuple(self.output_dropblock(level) for level in x)
        return tuple(x)

    # -- training ----------------------------------------------------------------------------------------
    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """TwoStageDetector's losses (with CS through the RoI head, training mode only), plus ``loss_orth``
        (weight > 0)."""
        losses = super().loss(batch_inputs, batch_data_samples)
        if self.mgc_orthogonal_weight > 0:
            losses["loss_orth"] = self.mgc_orthogonal_weight * self.neck.orthogonal_loss().to(batch_inputs.device)
        return losses

    # -- deployment --------------------------------------------------------------------------------------
    def strip_training_only(self) -> "NeckSearchTwoStage":
        """Delete the auxiliary CS heads in place (the model then matches the detector with CS off)."""
        if isinstance(self.roi_head, CSRoIHead):
            self.roi_head.drop_consistent_supervision()
        self.cs_laterals = ()
        return self


def _widths(neck) -> Sequence[int]:
    """The backbone widths the GraphNeck was built with."""
    return [neck.shapes[name].channels for name in neck.graph.inputs]


def training_only_keys(state: Union[nn.Module, Mapping[str, Any]]) -> list:
    """State-dict keys of the training-only modules (``roi_head.cs_*``) of a model or a checkpoint dict."""
    keys = state.state_dict().keys() if isinstance(state, nn.Module) else state.keys()
    return [key for key in keys if TRAINING_ONLY_KEY.search(key)]


def deploy_state_dict(state: Union[nn.Module, Mapping[str, Any]]) -> "OrderedDict[str, Any]":
    """The state dict of a model (or a checkpoint's ``state_dict``) without the training-only parameters.

    A checkpoint file's dict with a ``state_dict`` entry (mmengine's format) is handled too: the result is
    then the cleaned ``state_dict``.
    """
    if isinstance(state, nn.Module):
        state = state.state_dict()
    elif "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    drop = set(training_only_keys(state))
    return OrderedDict((key, value) for key, value in state.items() if key not in drop)
