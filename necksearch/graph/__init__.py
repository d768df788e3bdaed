"""Neck graphs: a neck as frozen, torch-free data with validation, shape inference, hashing and YAML/JSON."""
from necksearch.graph.errors import GraphError
from necksearch.graph.graph import NeckGraph, load_graph
from necksearch.graph.nodes import DetectorChoices, Node
from necksearch.graph.shapes import NodeShape
from necksearch.graph.values import FrozenArgs

__all__ = ["DetectorChoices", "FrozenArgs", "GraphError", "NeckGraph", "Node", "NodeShape", "load_graph"]
