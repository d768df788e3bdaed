# Faster R-CNN R50 + AugFPN (components.md §5): RFA in the graph, Soft RoI Selection as the RoI extractor,
# consistent supervision (weight 0.25, read from the graph) in CSRoIHead / NeckSearchTwoStage.
# Recipe: mmdet's 1x, 8 GPUs × 2 images = batch 16, lr 0.02, steps 8/11, short side 800.
_base_ = [
    './_base_/models/faster-rcnn_r50_fpn.py', './_base_/datasets/coco_detection.py',
    './_base_/schedules/schedule_1x.py', './_base_/default_runtime.py'
]
custom_imports = dict(imports=['necksearch.mmdet'], allow_failed_imports=False)

model = dict(
    type='NeckSearchTwoStage',
    neck=dict(_delete_=True, type='GraphNeck', graph='augfpn', in_channels=[256, 512, 1024, 2048], out_channels=256),
    roi_head=dict(type='CSRoIHead', bbox_roi_extractor=dict(type='SRSRoIExtractor')))
