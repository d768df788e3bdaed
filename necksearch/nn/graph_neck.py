"""GraphNeck: a torch module built from a :class:`~necksearch.graph.NeckGraph`.

Each node becomes the registered operation it names, built with the structural arguments that shape
inference gives (widths, and the scale 2^|Δlevel| of a fusion) plus the node's own hyper-parameters.
The forward pass evaluates nodes in topological order and returns the output maps, high resolution
first, as MMDetection necks do.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

import torch
from torch import nn

from necksearch.catalogue.slot import SLOTS
from necksearch.catalogue.tables import OP_SLOTS
from necksearch.graph import GraphError, NeckGraph, NodeShape
from necksearch.graph.presets import GraphSpec, resolve_graph
from necksearch.nn.mmdet_compat import mmdet_layout, rename_mmdet_keys
from necksearch.ops import get_op



class GraphNeck(nn.Module):
    """The neck a graph describes.

    Args:
        graph: a NeckGraph, its dict form, a preset name or a YAML/JSON path.
        in_channels: backbone widths, one per graph input (ResNet-50's 256..2048 when omitted).
        out_channels: pyramid width; overrides the graph's ``channels`` when given (width-tied arguments
            such as MGC's context width scale with it, and entity counts are capped at the backbone's
            widths: ``NeckGraph.with_channels``).
    """

    def __init__(self, graph: GraphSpec, in_channels: Sequence[int] | None = None,
                 out_channels: int | None = None) -> None:
        super().__init__()
        graph = resolve_graph(graph)
        widths = None if in_channels is None else _input_widths(graph, in_channels)
        if (out_channels is not None and out_channels != graph.channels) or widths is not None:
            graph = graph.with_channels(graph.channels if out_channels is None else out_channels, widths)
        graph.validate(widths)
        self.graph = graph
        self.shapes = graph.infer_shapes(widths)
        self.order = graph.topological_order()
        self.nodes = nn.ModuleDict({node.name: build_node(node, self.shapes) for node in self.order})
        layout = mmdet_layout(graph)
        if layout is not None:
            self._register_load_state_dict_pre_hook(
                lambda state_dict, prefix, *_: rename_mmdet_keys(state_dict, prefix, layout))

    def forward(self, inputs: Sequence[torch.Tensor], return_nodes: Sequence[str] = ()
                ) -> Union[Tuple[torch.Tensor, ...], Tuple[Tuple[torch.Tensor, ...], Dict[str, torch.Tensor]]]:
        """Backbone maps, one per graph input (c2..c5) → output maps in graph order.

        With ``return_nodes`` (node or input names) the result is ``(outputs, {name: map})``: the named
        intermediate maps too, e.g. the laterals that AugFPN's consistent supervision reads.
        """
        if len(inputs) != len(self.graph.inputs):
            raise ValueError(f"GraphNeck({self.graph.name}) takes {len(self.graph.inputs)} backbone maps "
                             f"({', '.join(self.graph.inputs)}), got {len(inputs)}")
        unknown = [name for name in return_nodes if name not in self.shapes]
        if unknown:
            raise ValueError(f"GraphNeck({self.graph.name}) has no node(s) {unknown} to return")
        values: Dict[str, torch.Tensor] = dict(zip(self.graph.inputs, inputs))
        for node in self.order:
            values[node.name] = call_node(self.nodes[node.name], node, [values[name] for name in node.inputs])
        outputs = tuple(values[name] for name in self.graph.outputs)
        return (outputs, {name: values[name] for name in return_nodes}) if return_nodes else outputs

    def orthogonal_loss(self) -> torch.Tensor:
        """Σ of the MGC orthogonal regularisers of every context node (0 when there is none)."""
        losses = [m.orthogonal_loss() for m in self.nodes.values() if hasattr(m, "orthogonal_loss")]
        return torch.stack(losses).sum() if losses else torch.zeros(())


def build_node(node, shapes: Mapping[str, NodeShape]) -> nn.Module:
    """The registered op of ``node``, built with its hyper-parameters and the structural arguments ``shapes`` fix."""
    spec = get_op(node.op)
    kwargs = {**node.args, **_structural_args(spec, node, shapes)}
    try:
        return spec.cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise GraphError(f"node {node.name!r} field 'args': {node.op} rejects {dict(node.args)}: {err}") from None


def call_node(module: nn.Module, node, args: List[torch.Tensor]) -> torch.Tensor:
    """Apply ``node``'s module to its input maps, as its slot calls it (a context op takes them as one list)."""
    return SLOTS[OP_SLOTS[node.op]].call(module, args)


def _input_widths(graph: NeckGraph, in_channels: Sequence[int]) -> Dict[str, int]:
    if len(in_channels) != len(graph.inputs):
        raise GraphError(f"in_channels {list(in_channels)} must give one width per graph input "
                         f"{list(graph.inputs)} of graph {graph.name!r}")
    return dict(zip(graph.inputs, in_channels))


def _structural_args(spec, node, shapes: Mapping[str, NodeShape]) -> Dict[str, Any]:
    """Constructor arguments that shape inference fixes for ``node`` (its slot's structural arguments)."""
    try:
        return SLOTS[spec.slot].structural_kwargs(shapes[node.name], [shapes[name] for name in node.inputs],
                                                  spec.accepts)
    except ValueError as err:
        raise GraphError(f"node {node.name!r} field 'inputs': {node.op} {err}") from None
