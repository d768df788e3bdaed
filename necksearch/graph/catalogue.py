"""Torch-free copy of the operation registry's names and slots, and the slot rules of shape inference.

``tests/graph/test_catalogue.py`` compares every table here with :mod:`necksearch.ops` (which needs
torch), so the two cannot drift apart; the graph layer itself never imports the operations.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Optional, Tuple

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

#: Keyword hyper-parameters of each operation (its constructor's defaults, structural ones excluded).
OP_ARGS: Dict[str, FrozenSet[str]] = {
    "lateral": frozenset(), "rfa": frozenset({"ratios", "fusion"}),
    "mgc_context": frozenset({"entities", "gcn", "similarity"}),
    "mgc": frozenset({"similarity", "project_after_aggregation"}),
    "carafe": frozenset({"up_kernel", "encoder_kernel", "compressed_channels"}),
    "concat": frozenset({"num_inputs", "kernel_size", "mode"}),
    "gacarafe": frozenset({"up_kernel", "encoder_kernel", "compressed_channels", "gate"}),
    "gt": frozenset({"num_parts", "reduction", "scale_mode", "prior_from"}),
    "lgt": frozenset({"window", "num_parts", "reduction", "scale_mode", "prior_from"}),
    "msca": frozenset({"heads", "pool_ratio", "pooling", "mlp_ratio", "mlp_norm"}),
    "mssa": frozenset({"heads", "pool_ratio", "pooling", "mlp_ratio", "mlp_norm"}),
    "sum": frozenset({"mode"}),
    "cap": frozenset({"down_kernel", "encoder_kernel", "compressed_channels"}),
    "gacap": frozenset({"down_kernel", "encoder_kernel", "compressed_channels", "gate"}),
    "rt": frozenset({"gap_transform"}), "strided_conv_sum": frozenset(),
    "conv_down": frozenset(), "maxpool_down": frozenset(),
    "conv3x3": frozenset({"relu"}), "dropblock": frozenset({"drop_prob", "block_size"}),
    "st": frozenset({"num_parts", "kv_pool", "scale_mode", "prior_from", "attn_dropout"}),
    "srs": frozenset(),
}

#: Structural constructor arguments a node may set in its ``args`` (the graph width otherwise).
WIDTH_ARGS: Dict[str, str] = {
    "lateral": "out_channels", "distribute": "out_channels", "extra": "out_channels",
    "context": "context_channels",
}

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
