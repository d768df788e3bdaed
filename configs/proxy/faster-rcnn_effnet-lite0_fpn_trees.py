# Tree-crown proxy: the default proxy's detector (Faster R-CNN on the frozen ImageNet-pretrained EfficientNet-Lite0,
# GraphNeck `fpn` at width 64, AdamW 1e-3, anchors of scale 2) on real imagery: NEON aerial RGB orthophotos with a
# box per tree crown, from the registry package deepforest 2.1.0 (`necksearch data trees`; built into data/trees/ on
# first use with 256-px tiles: 233 train tiles / 1,898 boxes from Yellowstone and Ordway-Swisher, 60 val tiles / 865
# boxes from another Yellowstone tile and Soaproot Saddle; one class, boxes only).
# Image size and epochs were chosen by measurement (fpn, seed 0, 2026-12-06, benchmarks/results/transfer_trees.md):
# at 128² (crowns halved to a median of ~19 px, above the smallest anchor's 8 px) 6 epochs reach bbox mAP 0.092 in
# ~100 CPU-s, 12 epochs 0.101 for twice the CPU; at 256² (crowns at full size) 6 epochs reach only 0.071 for
# 2.2× the CPU; 400-px tiles at 128² (crowns at 0.32×) are in that file too. Augmentation: the proxy's horizontal
# flip (aerial images have no up or down; a vertical flip was not measured). The LR step (×0.1) is before the last epoch.
_base_ = './faster-rcnn_effnet-lite0_fpn_synth.py'

data_root = 'data/trees/'
metainfo = dict(classes=('tree', ))
image_size = (128, 128)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[max_epochs - 1], gamma=0.1)
]
