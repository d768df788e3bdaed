# Cascade Mask R-CNN R50 + MSCA-FPN (components.md §4): the MSSA recipe with the cross-attention graph,
# random-crop training pipeline included ("Attention-based Feature Aggregation", Sec. 4.1).
_base_ = './cascade-mask-rcnn_r50_mssa-fpn_1x_coco.py'

model = dict(neck=dict(graph='msca_fpn'))
