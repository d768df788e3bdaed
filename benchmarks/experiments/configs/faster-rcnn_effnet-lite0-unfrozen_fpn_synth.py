# Regime probe (issue 22): the default proxy with its backbone trained too (BatchNorm statistics stay frozen).
# FPT trains with the backbone frozen (Sec. 4.1, "Setting"), as the default proxy does; this probe asks whether
# RT's effect on the proxy depends on that.
_base_ = '../../../configs/proxy/faster-rcnn_effnet-lite0_fpn_synth.py'

model = dict(backbone=dict(frozen=False))
