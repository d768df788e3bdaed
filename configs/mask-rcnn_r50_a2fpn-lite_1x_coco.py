# Mask R-CNN R50 + A²-FPN Lite (components.md §2.5: no F6, P6 by max-pool, so mmdet's pad 32 suffices).
_base_ = './mask-rcnn_r50_fpn_1x_coco.py'

model = dict(type='NeckSearchTwoStage', neck=dict(graph='a2fpn_lite'))
