"""NeckSearchTwoStage on small Mask / Faster R-CNNs (ResNet-18, 64-wide pyramid, 2 images of 128×128)."""
import functools
import math

import pytest
import torch

from necksearch.graph.presets import load_preset
from tests.helpers import n_params
from tests.mmdet.helpers import build, preprocess, small_config

CS_KEYS = {f"{kind}_cs_p{level}" for kind in ("loss_cls", "loss_bbox", "acc") for level in range(2, 6)}
CS_MASK_KEYS = {f"loss_mask_cs_p{level}" for level in range(2, 6)}


@functools.lru_cache(maxsize=None)
def model_for(preset, base="mask_rcnn"):
    torch.manual_seed(0)
    return build(small_config(preset, base))


def training_losses(model, seed=0):
    model.train()
    data = preprocess(model, True)
    torch.manual_seed(seed)
    return model(**data, mode="loss")


@pytest.mark.parametrize("preset", ["fpn", "augfpn", "a2fpn_lite", "fpt_st"])
def test_losses_are_finite_and_predict_returns_results(preset):
    model = model_for(preset)
    choices = load_preset(preset).detector
    losses = training_losses(model)
    total, log_vars = model.parse_losses(losses)
    assert math.isfinite(total.item()) and all(math.isfinite(v) for v in log_vars.values())
    cs_keys = {key for key in losses if "_cs_p" in key}
    assert cs_keys == ((CS_KEYS | CS_MASK_KEYS) if choices.consistent_supervision > 0 else set())
    assert ("loss_orth" in losses) == (choices.mgc_orthogonal_weight > 0)
    if "loss_orth" in losses:
        assert losses["loss_orth"].requires_grad and losses["loss_orth"].item() >= 0

    model.eval()
    with torch.no_grad():
        results = model(**preprocess(model, False), mode="predict")
    assert len(results) == 2
    for result in results:
        assert {"bboxes", "scores", "labels", "masks"} <= set(result.pred_instances.keys())
        assert len(result.pred_instances) == 10  # max_per_img with score_thr 0


def test_cs_uses_the_main_heads_rois_and_targets_and_weights_each_level():
    model = model_for("augfpn_cs", "faster_rcnn")
    head = model.roi_head
    assert head.cs_bbox_head is not head.bbox_head
    assert not {p.data_ptr() for p in head.cs_bbox_head.parameters()} & {p.data_ptr() for p in head.bbox_head.parameters()}
    assert n_params(head.cs_bbox_head) == n_params(head.bbox_head)   # same Shared2FC architecture
    seen = {"main": [], "aux": []}
    main_fn, aux_fn = head.bbox_head.loss_and_target, head.cs_bbox_head.loss

    def main(**kwargs):
        out = main_fn(**kwargs)
        seen["main"].append((kwargs["rois"], out["bbox_targets"]))
        return out

    def aux(cls_score, bbox_pred, rois, *targets):
        seen["aux"].append((rois, targets))
        return aux_fn(cls_score, bbox_pred, rois, *targets)

    head.bbox_head.loss_and_target, head.cs_bbox_head.loss = main, aux
    try:
        base = training_losses(model)
        head.cs_weight = 0.5
        doubled = training_losses(model)
    finally:
        head.cs_weight = 0.25
        del head.bbox_head.loss_and_target, head.cs_bbox_head.loss
    assert {key for key in base if "_cs_p" in key} == CS_KEYS     # Faster R-CNN: no mask CS
    assert len(seen["aux"]) == 8 and len(seen["main"]) == 2        # 4 levels × 2 runs
    for run in range(2):
        rois, targets = seen["main"][run]
        for rois_aux, targets_aux in seen["aux"][4 * run: 4 * run + 4]:
            assert torch.equal(rois_aux, rois) and len(targets_aux) == len(targets) == 4
            assert all(torch.equal(a, b) for a, b in zip(targets_aux, targets))
    for key in base:
        ratio = 2.0 if key.startswith("loss") and "_cs_p" in key else 1.0
        torch.testing.assert_close(torch.as_tensor(doubled[key]).sum(), ratio * torch.as_tensor(base[key]).sum())


def test_aux_heads_stay_out_of_inference_and_are_dropped_for_deployment():
    from necksearch.mmdet import deploy_state_dict, training_only_keys
    model = model_for("augfpn")
    cs_modules = {name: m for name, m in model.roi_head.named_children() if name.startswith("cs_")}
    assert set(cs_modules) == {"cs_bbox_roi_extractor", "cs_bbox_head", "cs_mask_roi_extractor", "cs_mask_head"}

    def forbidden(*_args):
        raise AssertionError("a consistent-supervision module ran outside training")

    handles = [m.register_forward_pre_hook(forbidden) for m in cs_modules.values()]
    try:
        model.eval()
        with torch.no_grad():
            assert len(model(**preprocess(model, False), mode="predict")) == 2
            model(**preprocess(model, False), mode="tensor")
            eval_losses = model(**preprocess(model, True), mode="loss")  # loss in eval mode: no CS either
        assert not any("_cs_p" in key for key in eval_losses)
    finally:
        for handle in handles:
            handle.remove()

    cfg = small_config("augfpn")
    inference = build(cfg, consistent_supervision=0)
    plain = build(small_config("augfpn_rfa_srs"))          # the same detector, CS off in the graph
    assert n_params(inference) == n_params(plain) < n_params(model)
    deployed = deploy_state_dict(model)
    assert set(deployed) == set(inference.state_dict()) == set(plain.state_dict())
    assert training_only_keys(model) and not training_only_keys(deployed)
    assert all(key.startswith("roi_head.cs_") for key in training_only_keys(model))
    inference.load_state_dict(deployed, strict=True)
    inference.load_state_dict(model.state_dict(), strict=True)   # a training checkpoint loads too
    from mmengine.runner.checkpoint import load_state_dict as mmengine_load   # (what load_from uses)
    mmengine_load(inference, model.state_dict(), strict=True)
    assert deploy_state_dict({"state_dict": model.state_dict(), "meta": {}}).keys() == deployed.keys()

    stripped = build(cfg)
    stripped.strip_training_only()
    assert n_params(stripped) == n_params(plain) and not stripped.with_cs
    assert not any("_cs_p" in key for key in training_losses(stripped))


def test_dropblock_acts_on_every_output_in_training_only():
    model = model_for("fpt_st")
    assert model.output_dropblock is not None and n_params(model.output_dropblock) == 0
    inputs = preprocess(model, False)["inputs"]
    with torch.no_grad():
        model.train()
        plain, dropped = model.neck(model.backbone(inputs)), model.extract_feat(inputs)
        assert all((d == 0).float().mean() > (p == 0).float().mean() for p, d in zip(plain[:4], dropped[:4]))
        model.eval()
        for p, d in zip(model.neck(model.backbone(inputs)), model.extract_feat(inputs)):
            torch.testing.assert_close(p, d)
    assert build(small_config("fpt_st"), output_dropblock=False).output_dropblock is None


def test_consistent_supervision_needs_the_cs_roi_head():
    from necksearch.graph import GraphError
    with pytest.raises(GraphError, match="CSRoIHead"):
        build(small_config("fpn", "faster_rcnn"), type="NeckSearchTwoStage", consistent_supervision=0.25)
