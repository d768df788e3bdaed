"""Torch-free copy of the operation registry's names and slots, and the slot rules of shape inference.

``tests/graph/test_catalogue.py`` compares every table here with :mod:`necksearch.ops` (which needs
torch), so the two cannot drift apart; the graph layer itself never imports the operations.
"""
from __future__ import annotations

from typing import Any, Dict, FrozenSet, Optional, Tuple

#: Every registered operation and the slot it fills.
OP_SLOTS: Dict[str, str] = {
    "lateral": "lateral", "rfa": "lateral",
    "mgc_context": "context",
    "mgc": "distribute",
    "carafe": "up", "concat": "up", "gacarafe": "up", "gt": "up", "lgt": "up", "msca": "up",
    "mssa": "up", "sum": "up",
    "cap": "down", "gacap": "down", "rt": "down", "strided_conv_sum": "down",
    "conv_down": "extra", "maxpool_down": "extra",
    "conv3x3": "unary", "dropblock": "unary", "st": "unary",
    "srs": "roi",
}

#: Keyword hyper-parameters of each operation with their defaults (structural arguments excluded).
OP_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "lateral": {},
    "rfa": {"ratios": [0.1, 0.2, 0.3], "fusion": "asf"},
    "mgc_context": {"entities": [256, 192, 128, 64], "gcn": True, "similarity": "scaled_cosine"},
    "mgc": {"similarity": "scaled_cosine", "project_after_aggregation": False},
    "carafe": {"up_kernel": 5, "encoder_kernel": 3, "compressed_channels": 64},
    "concat": {"num_inputs": 2, "kernel_size": 1, "mode": "nearest"},
    "gacarafe": {"up_kernel": 5, "encoder_kernel": 3, "compressed_channels": 64, "gate": "2sigmoid"},
    "gt": {"num_parts": 4, "reduction": 1, "scale_mode": "part", "prior_from": "key"},
    "lgt": {"window": 5, "num_parts": 4, "reduction": 1, "scale_mode": "part", "prior_from": "key"},
    "msca": {"heads": 4, "pool_ratio": 4, "pooling": "multi", "mlp_ratio": 2, "mlp_norm": False},
    "mssa": {"heads": 4, "pool_ratio": 4, "pooling": "multi", "mlp_ratio": 2, "mlp_norm": False},
    "sum": {"mode": "nearest"},
    "cap": {"down_kernel": 5, "encoder_kernel": 3, "compressed_channels": 64},
    "gacap": {"down_kernel": 5, "encoder_kernel": 3, "compressed_channels": 64, "gate": "2sigmoid"},
    "rt": {"gap_transform": False},
    "strided_conv_sum": {},
    "conv_down": {},
    "maxpool_down": {},
    "conv3x3": {"relu": False},
    "dropblock": {"drop_prob": 0.1, "block_size": 5},
    "st": {"num_parts": 2, "kv_pool": True, "scale_mode": "part", "prior_from": "key", "attn_dropout": 0.0,
           "residual": False},
    "srs": {},
}

#: The keyword names of each operation.
OP_ARGS: Dict[str, FrozenSet[str]] = {op: frozenset(args) for op, args in OP_DEFAULTS.items()}

#: Structural constructor arguments a node may set in its ``args`` (the graph width otherwise).
WIDTH_ARGS: Dict[str, str] = {
    "lateral": "out_channels", "distribute": "out_channels", "extra": "out_channels",
    "context": "context_channels",
}

#: Arguments whose value is tied to the pyramid width (``NeckGraph.with_channels`` scales them with it):
#: MGC's context width (the graph width when not given) and its per-level entity counts n_i.
WIDTH_SCALED_ARGS: Dict[str, Tuple[str, ...]] = {"mgc_context": ("context_channels", "entities")}

#: Per-level counts that may not exceed the width of the backbone input they read (A²-FPN Eq. 2: n_i ≤ c_i).
INPUT_BOUNDED_ARGS: Dict[str, str] = {"mgc_context": "entities"}

#: (fewest, most) inputs per slot; ``None`` = no upper bound.
SLOT_ARITY: Dict[str, Tuple[int, Optional[int]]] = {
    "lateral": (1, 1), "context": (1, None), "distribute": (2, 2), "up": (2, 2), "down": (2, 2),
    "extra": (1, 1), "unary": (1, 1),
}

#: Fusions that take any number of sources at any level (else a fusion is one source, one direction).
VARIADIC_OPS: FrozenSet[str] = frozenset({"sum", "concat"})

#: Extra-level operations whose output keeps the input's width (no parameters to change it).
SAME_WIDTH_OPS: FrozenSet[str] = frozenset({"maxpool_down"})

#: Context operations that carry A²-FPN's orthogonal loss (weighted by ``mgc_orthogonal_weight``).
ORTHOGONAL_LOSS_OPS: FrozenSet[str] = frozenset({"mgc_context"})

#: Values of ``DetectorChoices.roi_extractor``: mmdet's single-level heuristic or a ``roi``-slot op.
ROI_EXTRACTORS: Tuple[str, ...] = ("fpn", *sorted(op for op, slot in OP_SLOTS.items() if slot == "roi"))

#: The coarsest level a graph may name (stride 2^31 is beyond any image).
MAX_LEVEL = 31

#: Backbone widths assumed when none are given (ResNet-50).
RESNET50_WIDTHS: Dict[str, int] = {"c2": 256, "c3": 512, "c4": 1024, "c5": 2048}


def arity(op: str) -> Tuple[int, Optional[int]]:
    """(fewest, most) inputs that ``op`` takes as a graph node."""
    return (2, None) if op in VARIADIC_OPS else SLOT_ARITY[OP_SLOTS[op]]
