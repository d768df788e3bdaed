# Faster R-CNN R50 + the best neck necksearch's search campaign found
# (necksearch/presets/found/found_fpt_gt_rt_srs.yaml: FPT's GT+RT pyramid with AugFPN's Soft RoI Selection).
# Confirmed on the synthetic proxy only (benchmarks/results/search_campaign.md); this is the recipe to measure it on
# COCO: mmdet's 1x (batch 16, lr 0.02, steps 8/11, short side 800), the RoI extractor SRS as in the AugFPN recipe.
_base_ = [
    './_base_/models/faster-rcnn_r50_fpn.py', './_base_/datasets/coco_detection.py',
    './_base_/schedules/schedule_1x.py', './_base_/default_runtime.py'
]
custom_imports = dict(imports=['necksearch.mmdet'], allow_failed_imports=False)

model = dict(
    neck=dict(_delete_=True, type='GraphNeck', graph='found_fpt_gt_rt_srs', in_channels=[256, 512, 1024, 2048],
              out_channels=256),
    roi_head=dict(bbox_roi_extractor=dict(type='SRSRoIExtractor')))
