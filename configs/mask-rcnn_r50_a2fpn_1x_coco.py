# Mask R-CNN R50 + A²-FPN (components.md §2). The graph's F6 (stride-2 conv from C5) needs pad 64;
# the MGC orthogonal loss (λ_o = 1e-4, read from the graph) needs the NeckSearchTwoStage detector.
_base_ = './mask-rcnn_r50_fpn_1x_coco.py'

model = dict(
    type='NeckSearchTwoStage',
    data_preprocessor=dict(pad_size_divisor=64),
    neck=dict(graph='a2fpn'))
