"""The catalogue of operations: every operation's record, and the tables derived from records and slots.

The records (:class:`~necksearch.catalogue.record.OpRecord`) are declared where each operation is defined
(``necksearch.ops.register_op``); this module reads the built-in ones from ``records.json`` (generated from those
declarations, and checked against them whenever the operations are imported), then imports the modules named in
``NECKSEARCH_PLUGINS`` (comma-separated module names or ``.py`` paths), whose ``register_op`` declarations add
their operations. Every table below is derived from the records once those are in, so an operation from a plugin
is listed, validated, shape-inferred, searchable and drawable like a built-in one. Set the variable before
necksearch is imported (and for every process of a search: Ray's workers inherit the environment).

The plugins load here, although a plugin imports torch, because a plugin's record exists only once its module has
run its ``register_op``, and the tables are derived once, from every record: whichever layer reads them first
(a graph, a space, the registry) must find the plugins' operations in them. Only the user's modules are imported,
by name; this module imports no layer of necksearch, and a graph without plugins still loads no torch.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any, Dict, FrozenSet, Optional, Tuple

from necksearch.catalogue.record import OpRecord, load_records
from necksearch.catalogue.slot import SLOTS
from necksearch.errors import NeckSearchError

#: The environment variable naming plugin modules that register more operations.
PLUGINS_VARIABLE = "NECKSEARCH_PLUGINS"

#: Every operation's record, by name: the built-in ones first, then the plugins' in the order they register.
RECORDS: Dict[str, OpRecord] = {record.name: record for record in load_records()}
_BUILT_IN = dict(RECORDS)
#: Built-in operations whose ``register_op`` declaration differs from ``records.json`` → their modules.
_STALE: Dict[str, str] = {}
_sealed = False


def declare(record: OpRecord) -> None:
    """Add ``record`` (``register_op`` calls this). A built-in operation keeps its record from ``records.json``
    (one that differs is noted, for :func:`check_declarations`); a new one is accepted while the plugins load,
    and refused afterwards (the tables below are already derived)."""
    if record.name in _BUILT_IN:
        if record != _BUILT_IN[record.name]:
            _STALE[record.name] = record.module
        return
    if record.name in RECORDS and RECORDS[record.name] != record:
        raise NeckSearchError(f"operation {record.name!r} is registered twice (modules {RECORDS[record.name].module} "
                              f"and {record.module})")
    if _sealed and record.name not in RECORDS:
        raise NeckSearchError(f"operation {record.name!r} (module {record.module}) was registered after necksearch's "
                              f"catalogue was built: name its module in {PLUGINS_VARIABLE} so that it loads first")
    RECORDS[record.name] = record


def check_declarations() -> None:
    """Refuse built-in operations whose ``register_op`` declarations no longer match ``records.json``: graphs and
    spaces would read the file, while the modules are built as declared (the registry's lookups call this)."""
    if _STALE:
        name, module = next(iter(_STALE.items()))
        raise NeckSearchError(f"operation {name!r}: its register_op declaration (module {module}) no longer matches "
                              "necksearch/catalogue/records.json; regenerate that file with "
                              "`scripts/necksearch ops --write-records`")


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


load_plugins(os.environ.get(PLUGINS_VARIABLE))
_sealed = True

#: Every operation and the slot it fills.
OP_SLOTS: Dict[str, str] = {name: record.slot for name, record in RECORDS.items()}

#: The revision of each operation's computation (``OpRecord.revision``; 1 for most).
OP_REVISIONS: Dict[str, int] = {name: record.revision for name, record in RECORDS.items()}

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

#: The argument that holds a node's number of inputs (filled in and checked by the graph; concat's ``num_inputs``).
INPUT_COUNT_ARGS: Dict[str, str] = {name: r.input_count for name, r in RECORDS.items() if r.input_count}

#: Arguments that the graph or a template sets and a space never searches (the input count, the top ratio).
DERIVED_ARGS: Dict[str, Tuple[str, ...]] = {name: r.derived for name, r in RECORDS.items() if r.derived}

#: ``DetectorChoices`` fields that apply an operation to every neck output → that operation (its arguments are
#: the field's value).
DETECTOR_OPS: Dict[str, str] = {r.detector_field: name for name, r in RECORDS.items() if r.detector_field}

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


def arity(op: str) -> Tuple[int, Optional[int]]:
    """(fewest, most) inputs that ``op`` takes as a graph node."""
    return (2, None) if op in VARIADIC_OPS else SLOT_ARITY[OP_SLOTS[op]]
