# Cascade Mask R-CNN R50 + MSSA-FPN (components.md §4): AdamW lr 1e-4, betas (0.9, 0.99), weight decay
# 0.05, 12 epochs, steps 8/11, 8 GPUs × 1 image. The graph's P6 is a strided extra from C5: pad 64.
# (The paper's random crop is not reproduced here.)
_base_ = [
    './_base_/models/cascade-mask-rcnn_r50_fpn.py', './_base_/datasets/coco_instance.py',
    './_base_/schedules/schedule_1x.py', './_base_/default_runtime.py'
]
custom_imports = dict(imports=['necksearch.mmdet'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    neck=dict(_delete_=True, type='GraphNeck', graph='mssa_fpn', in_channels=[256, 512, 1024, 2048],
              out_channels=256))
train_dataloader = dict(batch_size=1)  # × 8 GPUs
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.99), weight_decay=0.05))
auto_scale_lr = dict(base_batch_size=8)
