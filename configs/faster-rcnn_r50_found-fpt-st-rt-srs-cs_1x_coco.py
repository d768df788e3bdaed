# Faster R-CNN R50 + the neck necksearch's second TPE search found (necksearch/presets/found/found_fpt_st_rt_srs_cs.yaml:
# FPT's ST+RT pyramid with AugFPN's Soft RoI Selection and consistent supervision, weight 0.25, read from the graph).
# Confirmed on the synthetic proxy only (benchmarks/results/search_campaign.md); this is the recipe to measure it on
# COCO: the AugFPN recipe (CSRoIHead, SRSRoIExtractor; mmdet's 1x, batch 16, lr 0.02, steps 8/11, short side 800)
# with this graph as the neck.
_base_ = ['./faster-rcnn_r50_augfpn_1x_coco.py']

model = dict(neck=dict(graph='found_fpt_st_rt_srs_cs'))
