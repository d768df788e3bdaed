"""Plain-dict, YAML and JSON forms of a neck graph.

YAML format (JSON is the same tree); an excerpt, not a whole neck::

    name: fpn                                   # required; metadata, not hashed
    paper: "FPN (Lin et al., CVPR 2017); mmdet FPN"   # optional, default ""; not hashed
    channels: 256                               # optional, default 256: the pyramid width
    inputs: [c2, c3, c4, c5]                    # optional, this default: backbone levels c<k>, stride 2^k
    nodes:                                      # required; any order (a DAG)
      - {name: l5, op: lateral, inputs: [c5]}
      - {name: t4, op: sum, inputs: [l4, l5]}   # a fusion's first input is its target
      - {name: g, op: gacarafe, inputs: [l3, t4], args: {gate: sigmoid}}   # args: op keywords
      - {name: p6, op: maxpool_down, inputs: [p5], level: 6}   # level: optional, checked
    outputs: [p2, p3, p4, p5, p6]               # required; node names, levels strictly increasing
    detector: {roi_extractor: fpn, consistent_supervision: 0.0, mgc_orthogonal_weight: 0.0,
               output_dropblock: null}          # optional; each key optional, these defaults

Node keys: ``name``, ``op``, ``inputs`` (required), ``args`` (default ``{}``), ``level`` (default
``null``). A ``concat`` node without ``args.num_inputs`` gets its input count. Exponent floats such
as ``1e-4`` read as numbers (YAML 1.2), not strings. Malformed text raises ``GraphError`` naming the
source and the key.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import TYPE_CHECKING, Any, Dict, Mapping, Sequence

import yaml

from necksearch.graph.errors import GraphError
from necksearch.graph.nodes import DetectorChoices, Node
from necksearch.graph.values import thaw

if TYPE_CHECKING:
    from necksearch.graph.graph import NeckGraph

GRAPH_KEYS = ("name", "paper", "channels", "inputs", "nodes", "outputs", "detector")
GRAPH_REQUIRED = ("name", "nodes", "outputs")
NODE_KEYS = ("name", "op", "inputs", "args", "level")
NODE_REQUIRED = ("name", "op", "inputs")
DETECTOR_KEYS = tuple(field.name for field in dataclasses.fields(DetectorChoices))

_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _Loader(yaml.SafeLoader):
    """Safe loader that also reads ``1e-4`` as a float."""


class _Dumper(yaml.SafeDumper):
    """Safe dumper that quotes strings the loader would read as exponent floats."""


for _cls in (_Loader, _Dumper):
    _cls.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Double-quote strings holding Unicode line breaks (NEL, LS, PS), which plain YAML would fold."""
    style = '"' if any(ch in value for ch in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def graph_to_dict(graph: NeckGraph) -> Dict[str, Any]:
    """The graph as plain JSON data (keys in the documented order)."""
    return {"name": graph.name, "paper": graph.paper, "channels": graph.channels, "inputs": list(graph.inputs),
            "nodes": [node_to_dict(node) for node in graph.nodes], "outputs": list(graph.outputs),
            "detector": detector_to_dict(graph.detector)}


def node_to_dict(node: Node) -> Dict[str, Any]:
    """A node as plain data; empty ``args`` and a missing ``level`` are left out."""
    data: Dict[str, Any] = {"name": node.name, "op": node.op, "inputs": list(node.inputs)}
    if node.args:
        data["args"] = thaw(node.args)
    if node.level is not None:
        data["level"] = node.level
    return data


def detector_to_dict(detector: DetectorChoices) -> Dict[str, Any]:
    """Detector-level choices as plain data."""
    return {key: thaw(getattr(detector, key)) for key in DETECTOR_KEYS}


def graph_fields(data: Any, source: str) -> Dict[str, Any]:
    """Keyword arguments of ``NeckGraph`` read from plain ``data``; ``GraphError`` names source and key."""
    _check_keys(data, GRAPH_KEYS, GRAPH_REQUIRED, source, "")
    nodes = data["nodes"]
    if not isinstance(nodes, list):
        raise GraphError(f"{source}: key 'nodes': expected a list, got {type(nodes).__name__}")
    fields = {key: value for key, value in data.items() if key not in ("nodes", "detector")}
    fields["nodes"] = tuple(_build(Node, item, NODE_KEYS, NODE_REQUIRED, source, f"nodes[{index}]")
                            for index, item in enumerate(nodes))
    if data.get("detector") is not None:
        fields["detector"] = _build(DetectorChoices, data["detector"], DETECTOR_KEYS, (), source, "detector")
    return fields


def _build(cls: type, data: Any, keys: Sequence[str], required: Sequence[str], source: str, path: str) -> Any:
    _check_keys(data, keys, required, source, path)
    try:
        return cls(**data)
    except GraphError as error:
        raise GraphError(f"{source}: key {path!r}: {error}") from None
    except RecursionError:
        raise GraphError(f"{source}: key {path!r}: nested too deeply (a recursive YAML alias?)") from None


def _check_keys(data: Any, keys: Sequence[str], required: Sequence[str], source: str, path: str) -> None:
    """``data`` must be a mapping with only ``keys`` and every ``required`` one."""
    where = f"key {path!r}" if path else "top level"
    if not isinstance(data, Mapping):
        raise GraphError(f"{source}: {where}: expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in keys:
            raise GraphError(f"{source}: {where}: unknown key {key!r}; known: {', '.join(keys)}")
    for key in required:
        if key not in data:
            raise GraphError(f"{source}: {where}: missing key {key!r}")


def dump_yaml(data: Dict[str, Any]) -> str:
    """Graph data as YAML in the documented layout (one flow-style line per node)."""
    parts = []
    for key, value in data.items():
        if key == "nodes" and value:
            parts.append("nodes:\n" + "".join(f"  - {_flow(node)}\n" for node in value))
        elif isinstance(value, (list, dict)):
            parts.append(f"{key}: {_flow(value)}\n")
        else:
            parts.append(yaml.dump({key: value}, Dumper=_Dumper, width=math.inf, allow_unicode=True))
    return "".join(parts)


def _flow(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=True, sort_keys=False, width=math.inf,
                     allow_unicode=True).strip()


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML text; syntax errors become ``GraphError`` naming ``source``."""
    try:
        return yaml.load(text, Loader=_Loader)
    except Exception as error:  # PyYAML's constructors also raise ValueError/AttributeError (`!!timestamp 1`)
        raise GraphError(f"{source}: not valid YAML: {' '.join(str(error).split())}") from None


def load_json(text: str, source: str) -> Any:
    """Parse JSON text; syntax errors become ``GraphError`` naming ``source``."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise GraphError(f"{source}: not valid JSON: {error}") from None


def dump_json(data: Dict[str, Any]) -> str:
    """Graph data as indented JSON."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
