# The synthetic proxy with a fire drill: fpn raises, pafpn's loss turns NaN, a2fpn_lite's process is killed
# once (its retry continues from the epoch-1 checkpoint and completes). Used by tests/search/test_faults.py, with
# NECKSEARCH_PLUGINS=tests/search/fault_drill.py (the hook).
_base_ = ['../../../configs/proxy/faster-rcnn_r18-tiny_fpn_synth.py']
custom_hooks = [dict(type='FaultDrillHook', epoch=2, faults=dict(fpn='raise', pafpn='nan', a2fpn_lite='kill_once'))]
