"""Loading MMDetection ``FPN`` / ``PAFPN`` weights into the equivalent GraphNeck presets.

A model-zoo checkpoint names the neck's convs ``lateral_convs.i``, ``fpn_convs.i``,
``downsample_convs.i`` and ``pafpn_convs.i``; the ``fpn`` and ``pafpn`` presets hold the same convs
under node names. When a GraphNeck's graph *is* one of those presets (same canonical hash and node
names), its state-dict loader renames the mmdet keys, so ``load_from`` of a Mask R-CNN checkpoint works.
"""
from __future__ import annotations

import functools
from typing import Dict, Optional

from necksearch.graph import NeckGraph
from necksearch.graph.presets import load_preset

_FPN = {**{f"lateral_convs.{i}": f"l{i + 2}" for i in range(4)},
        **{f"fpn_convs.{i}": f"p{i + 2}" for i in range(4)}}

#: mmdet module path → node name, for the presets that are mmdet necks.
MMDET_LAYOUTS: Dict[str, Dict[str, str]] = {
    "fpn": _FPN,
    "pafpn": {**_FPN, **{f"downsample_convs.{i}": f"b{i + 3}" for i in range(3)},
              **{f"pafpn_convs.{i}": f"n{i + 3}" for i in range(3)}},
}


def mmdet_layout(graph: NeckGraph) -> Optional[Dict[str, str]]:
    """The mmdet key layout whose preset ``graph`` is (at its width), or None. Decided by canonical hash; each
    preset is read once per process and width, not on every GraphNeck construction."""
    names = {node.name for node in graph.nodes}
    candidates = [preset for preset, layout in MMDET_LAYOUTS.items() if set(layout.values()) <= names]
    if not candidates:
        return None
    graph_hash = graph.canonical_hash()
    return next((MMDET_LAYOUTS[preset] for preset in candidates
                 if _preset_hash(preset, graph.channels) == graph_hash), None)


@functools.lru_cache(maxsize=None)
def _preset_hash(preset: str, channels: int) -> str:
    return load_preset(preset).with_channels(channels).canonical_hash()


def rename_mmdet_keys(state_dict: dict, prefix: str, layout: Dict[str, str]) -> None:
    """In place: ``{prefix}lateral_convs.0.conv.weight`` → ``{prefix}nodes.l2.conv.weight`` and so on."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        module_path, _, leaf = key[len(prefix):].partition(".conv.")
        if leaf and module_path in layout:
            state_dict[f"{prefix}nodes.{layout[module_path]}.conv.{leaf}"] = state_dict.pop(key)
