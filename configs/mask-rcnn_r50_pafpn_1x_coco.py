# Mask R-CNN R50 + the `pafpn` graph (PANet's bottom-up path): A²-FPN's ablation baseline, same recipe.
_base_ = './mask-rcnn_r50_fpn_1x_coco.py'

model = dict(neck=dict(graph='pafpn'))
