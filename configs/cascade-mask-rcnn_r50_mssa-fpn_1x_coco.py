# Cascade Mask R-CNN R50 + MSSA-FPN (components.md §4): AdamW lr 1e-4, betas (0.9, 0.99), weight decay
# 0.05, 12 epochs, steps 8/11, 8 GPUs × 1 image. The graph's P6 is a strided extra from C5: pad 64.
_base_ = [
    './_base_/models/cascade-mask-rcnn_r50_fpn.py', './_base_/datasets/coco_instance.py',
    './_base_/schedules/schedule_1x.py', './_base_/default_runtime.py'
]
custom_imports = dict(imports=['necksearch.mmdet'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    neck=dict(_delete_=True, type='GraphNeck', graph='mssa_fpn', in_channels=[256, 512, 1024, 2048],
              out_channels=256))

# "Attention-based Feature Aggregation" (MSSA/MSCA), Sec. 4.1 Optimization Settings: "We follow the same
# data augmentation strategies as (Cai & Vasconcelos, 2018), where each image is resized into 800 × 1,333
# pixels, and a random size image patch will be cropped for training." So: one resize to 1333×800 (keep
# ratio; no multi-scale RandomChoiceResize, which the paper does not describe), then a crop of random size,
# then Cascade R-CNN's horizontal flip. The crop range is not given: each side is a uniform 50-100 % of
# the resized side (mmdet's RandomCrop 'relative_range'); boxes are recomputed from the cropped masks, and a
# crop with no object left is dropped (mmdet's default), so the dataset draws another image.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomCrop', crop_type='relative_range', crop_size=(0.5, 0.5), recompute_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=1, dataset=dict(pipeline=train_pipeline))  # × 8 GPUs
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.99), weight_decay=0.05))
auto_scale_lr = dict(base_batch_size=8)
