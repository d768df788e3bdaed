# Mask R-CNN R50 + Feature Pyramid Transformer (components.md §3): ST/GT/RT on the BFP laterals; the
# output DropBlock (block 5, p 0.1, read from the graph) runs in NeckSearchTwoStage.
# Schedule: mmdet's 1x (batch 16, lr 0.02), not the paper's 8-GPU iteration schedule.
_base_ = [
    './_base_/models/mask-rcnn_r50_fpn.py', './_base_/datasets/coco_instance.py',
    './_base_/schedules/schedule_1x.py', './_base_/default_runtime.py'
]
custom_imports = dict(imports=['necksearch.mmdet'], allow_failed_imports=False)

model = dict(
    type='NeckSearchTwoStage',
    neck=dict(_delete_=True, type='GraphNeck', graph='fpt', in_channels=[256, 512, 1024, 2048], out_channels=256))
