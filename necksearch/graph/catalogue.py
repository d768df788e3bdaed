"""The torch-free catalogue of operations: every operation's record, and the tables derived from records and slots.

The records (:class:`~necksearch.ops.record.OpRecord`) are declared where each operation is defined
(``necksearch.ops.register_op``); this module reads the built-in ones from ``necksearch/ops/records.json``
(generated from those declarations, and checked against them whenever the operations are imported), then
imports the modules named in ``NECKSEARCH_PLUGINS`` (comma-separated module names or ``.py`` paths), whose
``register_op`` declarations add their operations. Every table below is derived from the records once those
are in, so an operation from a plugin is listed, validated, shape-inferred, searchable and drawable like a
built-in one. Set the variable before necksearch is imported (and for every process of a search: Ray's
workers inherit the environment).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from necksearch.errors import NeckSearchError
from necksearch.ops.record import OpRecord, load_records
from necksearch.ops.slot import SLOTS

#: The environment variable naming plugin modules that register more operations.
PLUGINS_VARIABLE = "NECKSEARCH_PLUGINS"

#: Every operation's record, by name: the built-in ones first, then the plugins' in the order they register.
RECORDS: Dict[str, OpRecord] = {record.name: record for record in load_records()}
_BUILT_IN = dict(RECORDS)
_sealed = False
#: Off only while ``records.json`` is regenerated (:func:`declared_records`).
_check_built_in = True


def declare(record: OpRecord) -> None:
    """Add ``record`` (``register_op`` calls this). A built-in operation must match ``records.json``; a new
    one is accepted while the plugins load, and refused afterwards (the tables below are already derived)."""
    if not _check_built_in and record.module.startswith("necksearch."):
        return
    if record.name in _BUILT_IN:
        if record != _BUILT_IN[record.name]:
            raise NeckSearchError(
                f"operation {record.name!r}: its register_op declaration (module {record.module}) no longer matches "
                "necksearch/ops/records.json; regenerate that file with "
                "`scripts/necksearch ops --write-records`")
        return
    if record.name in RECORDS and RECORDS[record.name] != record:
        raise NeckSearchError(f"operation {record.name!r} is registered twice (modules {RECORDS[record.name].module} "
                              f"and {record.module})")
    if _sealed and record.name not in RECORDS:
        raise NeckSearchError(f"operation {record.name!r} (module {record.module}) was registered after necksearch's "
                              f"catalogue was built: name its module in {PLUGINS_VARIABLE} so that it loads first")
    RECORDS[record.name] = record


def load_plugins(spec: Optional[str]) -> None:
    """Import each plugin of ``spec`` (comma-separated module names or paths of ``.py`` files)."""
    for entry in filter(None, (part.strip() for part in (spec or "").split(","))):
        try:
            if entry.endswith(".py"):
                module_spec = importlib.util.spec_from_file_location(Path(entry).stem, entry)
                if module_spec is None or not Path(entry).is_file():
                    raise FileNotFoundError(entry)
                module = importlib.util.module_from_spec(module_spec)
                module_spec.loader.exec_module(module)
            else:
                importlib.import_module(entry)
        except NeckSearchError:
            raise
        except Exception as err:  # noqa: BLE001 - whatever a plugin raises, name the plugin
            raise NeckSearchError(f"{PLUGINS_VARIABLE}: cannot load plugin {entry!r}: {type(err).__name__}: {err}") \
                from None


def declared_records() -> List[OpRecord]:
    """The built-in operations' records as their ``register_op`` declarations give them now, whatever
    ``records.json`` holds (imports torch): what regenerating that file writes. Call it in a fresh process."""
    global _check_built_in
    _check_built_in = False
    from necksearch.ops import list_ops
    return [spec.record for spec in list_ops() if spec.record.module.startswith("necksearch.")]


load_plugins(os.environ.get(PLUGINS_VARIABLE))
_sealed = True

#: Every operation and the slot it fills.
OP_SLOTS: Dict[str, str] = {name: record.slot for name, record in RECORDS.items()}

#: Keyword hyper-parameters of each operation with their defaults (structural arguments excluded).
OP_DEFAULTS: Dict[str, Dict[str, Any]] = {name: record.defaults for name, record in RECORDS.items()}

#: The keyword names of each operation.
OP_ARGS: Dict[str, FrozenSet[str]] = {op: frozenset(args) for op, args in OP_DEFAULTS.items()}

#: Structural constructor arguments a node may set in its ``args`` (the graph width otherwise), per slot.
WIDTH_ARGS: Dict[str, str] = {name: slot.width_arg for name, slot in SLOTS.items() if slot.width_arg}

#: Arguments whose value is tied to the pyramid width (``NeckGraph.with_channels`` scales them with it):
#: MGC's context width (the graph width when not given) and its per-level entity counts n_i.
WIDTH_SCALED_ARGS: Dict[str, Tuple[str, ...]] = {name: r.width_scaled for name, r in RECORDS.items() if r.width_scaled}

#: Per-level counts that may not exceed the width of the backbone input they read (A²-FPN Eq. 2: n_i ≤ c_i).
INPUT_BOUNDED_ARGS: Dict[str, str] = {name: r.input_bounded for name, r in RECORDS.items() if r.input_bounded}

#: (fewest, most) inputs per slot whose ops are graph nodes; ``None`` = no upper bound.
SLOT_ARITY: Dict[str, Tuple[int, Optional[int]]] = {name: slot.arity for name, slot in SLOTS.items() if slot.is_node}

#: Fusions that take any number of sources at any level (else a fusion is one source, one direction).
VARIADIC_OPS: FrozenSet[str] = frozenset(name for name, record in RECORDS.items() if record.variadic)

#: Extra-level operations whose output keeps the input's width (no parameters to change it).
SAME_WIDTH_OPS: FrozenSet[str] = frozenset(name for name, record in RECORDS.items() if record.same_width)

#: Context operations that carry A²-FPN's orthogonal loss (weighted by ``mgc_orthogonal_weight``).
ORTHOGONAL_LOSS_OPS: FrozenSet[str] = frozenset(name for name, record in RECORDS.items() if record.orthogonal_loss)

#: FPN's own operations (one-line summaries leave them out).
PLAIN_OPS: FrozenSet[str] = frozenset(name for name, record in RECORDS.items() if record.plain)

#: Values of ``DetectorChoices.roi_extractor``: mmdet's single-level heuristic or a ``roi``-slot op.
ROI_EXTRACTORS: Tuple[str, ...] = ("fpn", *sorted(op for op, slot in OP_SLOTS.items() if slot == "roi"))

#: The coarsest level a graph may name (stride 2^31 is beyond any image).
MAX_LEVEL = 31

#: Backbone widths assumed when none are given (ResNet-50).
RESNET50_WIDTHS: Dict[str, int] = {"c2": 256, "c3": 512, "c4": 1024, "c5": 2048}


def arity(op: str) -> Tuple[int, Optional[int]]:
    """(fewest, most) inputs that ``op`` takes as a graph node."""
    return (2, None) if op in VARIADIC_OPS else SLOT_ARITY[OP_SLOTS[op]]
