# Mask R-CNN R50 + the `fpn` graph (a GraphNeck replica of mmdet's FPN), A²-FPN's recipe
# (components.md §2): 4 GPUs × 2 images = batch 8, lr 0.01, 12 epochs, steps 8/11, 1333×800.
# Everything else is mmdet's mask-rcnn_r50_fpn_1x_coco.py (same bases).
_base_ = [
    './_base_/models/mask-rcnn_r50_fpn.py', './_base_/datasets/coco_instance.py',
    './_base_/schedules/schedule_1x.py', './_base_/default_runtime.py'
]
custom_imports = dict(imports=['necksearch.mmdet'], allow_failed_imports=False)

model = dict(
    neck=dict(_delete_=True, type='GraphNeck', graph='fpn', in_channels=[256, 512, 1024, 2048], out_channels=256))
train_dataloader = dict(batch_size=2)  # × 4 GPUs
optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(base_batch_size=8)
