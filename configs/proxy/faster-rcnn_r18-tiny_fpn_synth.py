# Proxy: a small Faster R-CNN trained from scratch on the embedded synthetic shapes dataset
# (`necksearch data synth`, data/synth/) on a CPU in minutes. ResNet-18 at half width (32..256 channels),
# no pretrained weights, trainable BN; `fpn` graph at width 64; the 320×320 images resized to 160×160.
# Recipe (benchmarks/results/proxy_learning.md): batch 4 (an iteration has a large fixed cost, so more, smaller
# steps learn more per CPU second), AdamW 1e-3 with a 20-iteration warm-up, 5 epochs, ×0.1 for the last one;
# anchors of scale 2 (8..128 px at strides 4..64, matching the 4..140 px objects at 160²); RoIs mapped to
# levels with finest_scale 28 (mmdet's 56 halved with the image, so P2-P4 all pool RoIs and RoIAlign stays
# cheap); 500 RPN boxes per level before NMS in training. Measured with `fpn`, seed 0: bbox mAP 0.109, mAP@50
# 0.215 (the old 3-epoch recipe: 0.017 / 0.045) in 4.6-5 min on one pinned core (~0.47 s per iteration; train
# and per-epoch eval; 2-core machine under load 2-3). The LR step is at epoch max_epochs - 1 as written here:
# `--epochs` keeps this schedule. `necksearch train` sets the data root and may replace the graph.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['necksearch.mmdet'], allow_failed_imports=False)

data_root = 'data/synth/'
metainfo = dict(classes=('circle', 'square', 'triangle', 'ring', 'cross', 'star', 'ellipse'))
num_classes = 7
image_size = (160, 160)

model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True),
                  norm_eval=False, init_cfg=None),
    neck=dict(_delete_=True, type='GraphNeck', graph='fpn', in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64, anchor_generator=dict(scales=[2])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, finest_scale=28),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=num_classes)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=500, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300), rcnn=dict(max_per_img=50)))

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
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='train/'), filter_cfg=dict(filter_empty_gt=True, min_size=4),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_val.json',
                 data_prefix=dict(img='val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json', metric='bbox')
test_evaluator = val_evaluator

max_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[max_epochs - 1], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=4)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=1))
