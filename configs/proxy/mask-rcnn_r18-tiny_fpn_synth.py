# Proxy Mask R-CNN: the Faster R-CNN proxy (its recipe: batch 4, AdamW 1e-3, 5 epochs, scale-2 anchors, RoI
# finest_scale 28) plus mmdet's mask branch at width 64, whose RoIs map to levels like the box branch's;
# bbox and segm metrics. Its learning was not measured separately (benchmarks/results/proxy_learning.md).
_base_ = './faster-rcnn_r18-tiny_fpn_synth.py'

model = dict(
    type='MaskRCNN',
    roi_head=dict(
        mask_roi_extractor=dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=14,
                                                                          sampling_ratio=0),
                                out_channels=64, featmap_strides=[4, 8, 16, 32],
                                finest_scale={{_base_.model.roi_head.bbox_roi_extractor.finest_scale}}),
        mask_head=dict(type='FCNMaskHead', num_convs=4, in_channels=64, conv_out_channels=64,
                       num_classes={{_base_.num_classes}},
                       loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=28)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=True),
    dict(type='Resize', scale={{_base_.image_size}}, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale={{_base_.image_size}}, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator
