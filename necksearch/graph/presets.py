"""Published architectures as data: the YAML presets shipped in ``necksearch/presets/``.

Each preset file cites its paper and table in a leading comment and in its ``paper`` field. The necks necksearch's own
searches found and confirmed over seeds are shipped beside them in ``necksearch/presets/found/`` (named ``found_*``),
their provenance (run, trial, seeds, mAPs) in the leading comment and the ``paper`` field: loaded by the same name
lookup, but not published necks, so not in :func:`list_presets` nor in the spaces' ``presets`` lists.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Mapping, Union

from necksearch.graph.errors import GraphError
from necksearch.graph.graph import NeckGraph, load_graph
from necksearch.resources import resource_dir

PRESET_DIR = resource_dir("presets")
#: Necks a necksearch search found and ``necksearch confirm`` confirmed (benchmarks/results/search_campaign.md).
FOUND_DIR = PRESET_DIR / "found"
#: The published necks: each paper's headline architecture (A²-FPN and its lite form, FPT, AugFPN, MSSA- and
#: MSCA-FPN) and the baselines they are measured against (FPN, PAFPN, FPN with CARAFE upsampling); the other
#: presets are their ablation rows. ``--fixed-points published`` and ``confirm --against published`` name them.
PUBLISHED_NECKS = ("fpn", "pafpn", "fpn_carafe", "a2fpn", "a2fpn_lite", "fpt", "augfpn", "mssa_fpn", "msca_fpn")


def list_presets() -> List[str]:
    """Names of every shipped preset, sorted."""
    return sorted(path.stem for path in PRESET_DIR.glob("*.yaml"))


def list_found_necks() -> List[str]:
    """Names of the shipped found necks (``found_*``), sorted."""
    return sorted(path.stem for path in FOUND_DIR.glob("found_*.yaml"))


def load_preset(name: str) -> NeckGraph:
    """The NeckGraph of preset ``name`` (a published neck, or a found one: ``found_*``)."""
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        path = FOUND_DIR / f"{name}.yaml"
    if not path.is_file():
        raise GraphError(f"unknown preset {name!r}; presets: {', '.join(list_presets() + list_found_necks())}")
    return load_graph(path)


#: What the edges of necksearch accept for a graph (a config's ``neck.graph``, a CLI argument, the public API):
#: a NeckGraph, its dict form, a preset name or a ``.yaml``/``.yml``/``.json`` path; :func:`resolve_graph` turns it
#: into the NeckGraph that travels inside.
GraphSpec = Union[NeckGraph, Mapping[str, Any], str, Path]


def resolve_graph(spec: GraphSpec) -> NeckGraph:
    """A graph from a NeckGraph, its dict form, a preset name, or a ``.yaml``/``.yml``/``.json`` path."""
    if isinstance(spec, NeckGraph):
        return spec
    if isinstance(spec, Mapping):
        return NeckGraph.from_dict(dict(spec))
    if isinstance(spec, Path) or str(spec).endswith((".yaml", ".yml", ".json")):
        return load_graph(spec)
    if isinstance(spec, str):
        return load_preset(spec)
    raise GraphError(f"graph must be a NeckGraph, a dict, a preset name or a path, got {type(spec).__name__}")
