"""The detector counts use ``detector_from_graph``: SRS extractors and the padding show, CS does not."""
import pytest

from necksearch.analysis.complexity import build_mask_rcnn, detector_complexity
from tests.helpers import n_params

#: AugFPN Soft RoI Selection at 256 channels over 4 levels: Conv1×1 1024→256 + Conv3×3 256→4.
SRS_PARAMS = 271_620


@pytest.fixture(scope="module")
def fpn():
    return detector_complexity("fpn")


def test_an_srs_preset_counts_one_srs_per_branch(fpn):
    srs = detector_complexity("augfpn_srs")          # the FPN neck with SRS RoI extraction
    assert srs.params - fpn.params == 2 * SRS_PARAMS
    assert srs.part_params["roi_head"] - fpn.part_params["roi_head"] == 2 * SRS_PARAMS
    assert srs.parts["neck"] == fpn.parts["neck"] and srs.parts["roi_head"] > fpn.parts["roi_head"]
    assert not srs.notes


def test_consistent_supervision_is_training_only(fpn):
    """AugFPN Sec. 3.1: the auxiliary branches are abandoned at test time — no parameters, no MACs."""
    cs = detector_complexity("augfpn_cs")            # the FPN neck with CS only
    assert (cs.params, cs.macs, cs.parts) == (fpn.params, fpn.macs, fpn.parts)
    model = build_mask_rcnn("augfpn")                # CS + RFA + SRS
    assert type(model).__name__ == "NeckSearchTwoStage" and not model.with_cs
    assert not [name for name, _ in model.named_parameters() if ".cs_" in name]
    assert n_params(model.roi_head.bbox_roi_extractor) == n_params(model.roi_head.mask_roi_extractor) == SRS_PARAMS


def test_the_image_is_padded_as_the_detector_pads_it():
    """A²-FPN's F6 is a strided conv on C5: pad_size_divisor 64, so 800×1333 is counted as 832×1344."""
    padded = detector_complexity("a2fpn", (800, 1333))
    assert "832×1344 (pad_size_divisor 64)" in padded.notes[0]
    assert padded.macs == detector_complexity("a2fpn", (832, 1344)).macs
    assert not detector_complexity("a2fpn", (832, 1344)).notes
    assert "800×1344 (pad_size_divisor 32)" in detector_complexity("fpn", (800, 1333)).notes[0]


@pytest.mark.slow  # ≈20 s: a real Mask R-CNN pass on the CPU (RoIAlign included)
def test_shape_only_srs_pass_counts_what_a_real_pass_counts():
    meta = detector_complexity("augfpn_srs", (128, 128), device="meta")
    real = detector_complexity("augfpn_srs", (128, 128), device="cpu")
    assert (meta.device, real.device) == ("meta", "cpu")
    assert (meta.params, meta.macs, meta.parts, meta.terms) == (real.params, real.macs, real.parts, real.terms)
