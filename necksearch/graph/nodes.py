"""The parts of a neck graph: operation nodes and the detector-level choices that are not nodes."""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Mapping, Optional, Tuple

from necksearch.catalogue.tables import INPUT_COUNT_ARGS
from necksearch.graph.errors import field_error
from necksearch.graph.values import FrozenArgs, check_int, check_names, check_str, check_weight, freeze_mapping


#: The coarsest level a graph may name (stride 2^31 is beyond any image).
MAX_LEVEL = 31

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclasses.dataclass(frozen=True)
class Node:
    """One operation of the neck: ``name = op(*inputs, **args)``.

    Attributes:
        name: unique within the graph; other nodes and the outputs refer to it.
        op: a registered operation (``necksearch.catalogue.tables.OP_SLOTS``), not a ``roi`` one.
        inputs: backbone inputs or node names; a fusion's first input is its target.
        args: the op's keyword hyper-parameters (frozen, sorted), plus ``out_channels`` /
            ``context_channels`` where the slot has them; an op's input count argument (concat's ``num_inputs``,
            ``INPUT_COUNT_ARGS``) is filled in.
        level: optional; checked against inference, and sets the level of an ``extra`` node.
    """

    name: str
    op: str
    inputs: Tuple[str, ...]
    args: Mapping[str, Any] = dataclasses.field(default_factory=FrozenArgs)
    level: Optional[int] = None

    def __post_init__(self) -> None:
        where = f"node {self.name!r}"
        if not _IDENTIFIER.fullmatch(check_str(self.name, where, "name")):
            raise field_error(where, "name", "must be an identifier (letters, digits, '_'; it names a module)")
        check_str(self.op, where, "op")
        inputs = check_names(self.inputs, where, "inputs")
        args = freeze_mapping(self.args, where, "args")
        count = INPUT_COUNT_ARGS.get(self.op)
        if count is not None and count not in args:
            args = FrozenArgs({**args, count: len(inputs)})
        if self.level is not None:
            check_int(self.level, where, "level", 0, MAX_LEVEL)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "args", args)


@dataclasses.dataclass(frozen=True)
class DetectorChoices:
    """Detector-level choices that are not neck nodes (they live in the MMDetection integration).

    Attributes:
        roi_extractor: ``fpn`` (mmdet's single-level heuristic) or ``srs`` (AugFPN soft RoI selection).
        consistent_supervision: AugFPN's consistent-supervision loss weight (0.25 in the paper; 0 = off).
        mgc_orthogonal_weight: A²-FPN's λ_o on the MGC orthogonal loss (1e-4; 0 = off).
        output_dropblock: DropBlock arguments for every output map (FPT: drop_prob 0.1, block_size 5).
    """

    roi_extractor: str = "fpn"
    consistent_supervision: float = 0.0
    mgc_orthogonal_weight: float = 0.0
    output_dropblock: Optional[Mapping[str, Any]] = None

    def __post_init__(self) -> None:
        check_str(self.roi_extractor, "detector", "roi_extractor")
        for key in ("consistent_supervision", "mgc_orthogonal_weight"):
            object.__setattr__(self, key, check_weight(getattr(self, key), "detector", key))
        if self.output_dropblock is not None:
            dropblock = freeze_mapping(self.output_dropblock, "detector", "output_dropblock")
            object.__setattr__(self, "output_dropblock", dropblock)
