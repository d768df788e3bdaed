"""SuperNeck: the weight-sharing supernet of one template of a search space (Single Path One-Shot).

It holds one module per candidate of the template (:mod:`necksearch.space.single_path`: a node position with
one op, one set of hyper-parameters and its shapes), every one built as ``GraphNeck`` builds that node; the
values of an op's hyper-parameters that leave its weights' shapes alone share one set of weights
(``single_path.tie_group``). A forward pass runs one path, a graph of the space, through the candidates it holds:

* in training mode with ``sample_paths`` on, a new path per call, every choice uniform (SPOS, Guo et al. 2020:
  one subnet per iteration; mmdet's detectors call the neck once per iteration);
* otherwise the active path (:meth:`SuperNeck.set_path`), by default the reference graph (the template's first
  fixed point), so validation during supernet training tracks one fixed subnet.

:meth:`SuperNeck.subnet_state_dict` gives the stand-alone ``GraphNeck`` of a path its inherited weights: that
neck reproduces the path's output exactly (tested to 1e-6).
"""
from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from necksearch.graph import GraphError, NeckGraph
from necksearch.graph.presets import resolve_graph
from necksearch.nn.graph_neck import build_node, call_node
from necksearch.space.single_path import (as_path, draw, enumerate_candidates, one_template, path_steps,
                                          reference_graph, scaled, template_candidates, tie_group)


class SuperNeck(nn.Module):
    """Every candidate of one template of a space, at pyramid width ``out_channels``.

    Args:
        space: a space name or file (``search_spaces/``), or a loaded ``SearchSpace``.
        template: the template (needed when the space has several).
        in_channels: backbone widths, one per template input (c2..c5).
        out_channels: pyramid width the graphs are scaled to (``NeckGraph.with_channels``).
        seed: seed of the candidate enumeration and of the training paths.
        reference: the path used outside path sampling until :meth:`set_path` (a preset name, graph, dict or file of
            the space); default: ``single_path.reference_graph`` (the first fixed point or preset in the template).
    """

    def __init__(self, space: Any, template: Optional[str] = None, in_channels: Sequence[int] = (256, 512, 1024, 2048),
                 out_channels: int = 256, seed: int = 0, reference: Any = None) -> None:
        super().__init__()
        space_file = space if isinstance(space, str) else None
        if space_file is not None:
            from necksearch.space import load_space
            space = load_space(space_file)
        self.space = one_template(space, template)
        self.channels = int(out_channels)
        reference = resolve_graph(reference) if reference is not None else reference_graph(self.space, seed)
        self.widths: Dict[str, int] = dict(zip(reference.inputs, [int(c) for c in in_channels]))
        self.candidates = (enumerate_candidates(self.space, self.channels, self.widths, seed) if space_file is None
                           else template_candidates(space_file, template, self.channels, self.widths, seed))
        self.choices = nn.ModuleDict({key: build_node(node, graph.infer_shapes(self.widths))
                                      for key, (graph, node) in sorted(self.candidates.by_key.items())})
        self._tie_equal_shapes()
        self.rng = random.Random(seed)
        self.sample_paths = True
        self._paths: Dict[str, Tuple[NeckGraph, Tuple[Tuple[str, Any], ...]]] = {}
        self.active = self._path(as_path(self.space, reference))
        self.last_steps = self.active[1]

    def _tie_equal_shapes(self) -> None:
        """Within each ``single_path.tie_group``, candidates whose weights have the same names and shapes share them
        (the same ``Parameter`` and buffer objects): the pyramid template's 31 fusion variants per level train as
        far fewer sets of weights. A path's stand-alone slices are unchanged by it."""
        firsts: Dict[Any, nn.Module] = {}
        for key, (graph, node) in sorted(self.candidates.by_key.items()):
            module = self.choices[key]
            shapes = tuple((name, tuple(t.shape)) for name, t in module.state_dict().items())
            first = firsts.setdefault((tie_group(node, graph), shapes), module)
            if first is not module:
                _share(first, module)

    @property
    def graph(self) -> NeckGraph:
        """The active path (detectors read a neck's ``graph``)."""
        return self.active[0]

    def _path(self, graph: NeckGraph) -> Tuple[NeckGraph, Tuple[Tuple[str, Any], ...]]:
        """The graph at the supernet's widths and its (candidate key, node) steps in topological order."""
        graph = scaled(graph, self.channels, self.widths)
        found = self._paths.get(graph.canonical_hash())
        if found is not None:
            return found
        steps = path_steps(graph, self.widths)
        missing = [node for key, node in steps if key not in self.choices]
        if missing:
            raise GraphError(f"graph {graph.name!r}: node {missing[0].name!r} ({missing[0].op} "
                             f"{dict(missing[0].args)}) is not a candidate of this supernet of space "
                             f"{self.space.name!r} (template {self.space.templates[0].name})")
        if len(self._paths) > 4096:
            self._paths.clear()
        self._paths[graph.canonical_hash()] = (graph, steps)
        return graph, steps

    def set_path(self, graph: NeckGraph) -> NeckGraph:
        """Make ``graph`` (a point of the space; its detector-level choices are held at the supernet's) the active
        path; returns it as the path runs it (template names, scaled)."""
        self.active = self._path(as_path(self.space, graph))
        return self.active[0]

    def draw_path(self) -> NeckGraph:
        """A uniform draw of the space (SPOS's training sampler)."""
        return draw(self.space, self.rng)

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Backbone maps (c2..c5) → the path's output maps (a fresh uniform path per call when training)."""
        graph, steps = self._path(self.draw_path()) if self.training and self.sample_paths else self.active
        self.last_steps = steps
        values: Dict[str, torch.Tensor] = dict(zip(graph.inputs, inputs))
        for key, node in steps:
            values[node.name] = call_node(self.choices[key], node, [values[name] for name in node.inputs])
        return tuple(values[name] for name in graph.outputs)

    def orthogonal_loss(self) -> torch.Tensor:
        """Σ of the MGC orthogonal regularisers (A²-FPN Eq. 2) of the path the last forward pass ran."""
        losses = [self.choices[key].orthogonal_loss() for key, _ in self.last_steps
                  if hasattr(self.choices[key], "orthogonal_loss")]
        return torch.stack(losses).sum() if losses else torch.zeros(())

    def path_modules(self, graph: Optional[NeckGraph] = None) -> Dict[str, nn.Module]:
        """Node name → the candidate module the path (default: the active one) runs there."""
        _, steps = self.active if graph is None else self._path(as_path(self.space, graph))
        return {node.name: self.choices[key] for key, node in steps}

    def subnet_state_dict(self, graph: Optional[NeckGraph] = None) -> "OrderedDict[str, torch.Tensor]":
        """The inherited weights of a path as the state dict of its stand-alone ``GraphNeck`` (same widths)."""
        state: "OrderedDict[str, torch.Tensor]" = OrderedDict()
        for name, module in self.path_modules(graph).items():
            for suffix, tensor in module.state_dict().items():
                state[f"nodes.{name}.{suffix}"] = tensor
        return state


def _share(source: nn.Module, target: nn.Module) -> None:
    """Make ``target`` hold ``source``'s parameters and buffers (same objects), module by module."""
    targets = dict(target.named_modules())
    for name, module in source.named_modules():
        twin = targets[name]
        for attr, parameter in module.named_parameters(recurse=False):
            setattr(twin, attr, parameter)
        for attr, buffer in module.named_buffers(recurse=False):
            twin._buffers[attr] = buffer
