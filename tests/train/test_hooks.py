"""``NeckScaleHook``: the RMS of every neck output, named by pyramid level, also when the neck is called for
AugFPN's consistent supervision (which returns the laterals beside the outputs)."""
import torch

from necksearch.nn import GraphNeck
from necksearch.train.hooks import NeckScaleHook

WIDTHS = [8, 16, 32, 64]


def _maps(size=32):
    return [torch.randn(1, c, size // 2 ** i, size // 2 ** i) for i, c in enumerate(WIDTHS)]


def test_rms_of_every_output_by_level():
    neck = GraphNeck("fpn", in_channels=WIDTHS, out_channels=8).train()
    hook = NeckScaleHook()
    neck.register_forward_hook(hook._record)
    outputs = neck(_maps())
    assert sorted(hook.rms) == [f"neck/rms_p{level}" for level in range(2, 7)]
    assert hook.rms["neck/rms_p2"] == outputs[0].pow(2).mean().sqrt().item()


def test_with_returned_laterals_and_not_in_eval():
    neck = GraphNeck("augfpn", in_channels=WIDTHS, out_channels=8).train()
    hook = NeckScaleHook()
    neck.register_forward_hook(hook._record)
    (outputs, laterals) = neck(_maps(), return_nodes=["c5"])
    assert hook.rms["neck/rms_p3"] == outputs[1].pow(2).mean().sqrt().item() and laterals
    metrics = {"coco/bbox_mAP": 0.5}
    hook.after_val_epoch(None, metrics)
    assert set(metrics) == {"coco/bbox_mAP", *hook.rms}
    before = dict(hook.rms)
    neck.eval()(_maps())
    assert hook.rms == before  # validation passes do not overwrite the training-time record
