# Regime probe (issue 22): the default proxy with its backbone trained too (BatchNorm statistics stay frozen), at a
# tenth of the neck's learning rate. FPT trains with the backbone frozen (Sec. 4.1, "Setting"), as the default proxy
# does; this probe asks whether RT's effect on the proxy depends on that. At the proxy's full AdamW 1e-3 the
# pretrained backbone diverged within two epochs for every graph tried (fpt_gt mAP 0.003, then NaN), hence lr_mult.
_base_ = '../../../configs/proxy/faster-rcnn_effnet-lite0_fpn_synth.py'

model = dict(backbone=dict(frozen=False))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
