"""What a weight-sharing supernet needs from a space, without torch: one template's sub-space, uniform single-path
draws, and the candidate nodes at every position.

Single Path One-Shot (Guo et al. 2020, "Single Path One-Shot Neural Architecture Search with Uniform Sampling")
trains a supernet by drawing one path per iteration, every choice uniformly, and later ranks paths by
their accuracy with the inherited weights. Here a path is a graph of the space, so the supernet's candidates are
the nodes that graphs of the space can hold: a *candidate* is a node position of the template (the node's name,
which the templates give per position: ``t4``, ``u5``, ``ctx``, ...) with one op, one set of hyper-parameters and
the input/output shapes that fix its constructor (:func:`candidate_key`). Graphs that share a candidate share its
weights, whatever the rest of their path.

Choices the supernet does not train are held fixed: the template (one supernet per skeleton: weights are shared
by node position, which only means something within one skeleton) and the detector-level choices (RoI extractor,
consistent supervision, output DropBlock), at their defaults: they change the detector around the neck, not a node.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import random
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from necksearch.graph import NeckGraph, Node, NodeShape
from necksearch.graph.hashing import explicit_args, revised_op
from necksearch.space.distributions import Constant
from necksearch.space.errors import SpaceError

#: Detector-level labels held at their defaults in a supernet (they are not nodes of the neck).
HELD_LABELS = ("detector/roi_extractor", "detector/consistent_supervision", "detector/output_dropblock")
#: Candidate enumeration stops after this many consecutive draws found no new candidate ...
PATIENCE = 2000
#: ... or after this many draws in all (a space this large is refused).
MAX_DRAWS = 100_000


def one_template(space: Any, template: Optional[str]) -> Any:
    """``space`` restricted to ``template`` with the detector-level choices at their defaults.

    ``template`` may be ``None`` only when the space has a single template; otherwise ``SpaceError`` names them.
    """
    names = [t.name for t in space.templates]
    if template is None:
        if len(names) > 1:
            raise SpaceError(f"space {space.name!r} has templates {', '.join(names)}: a supernet shares weights "
                             f"by node position within one skeleton; give --template (one of them)")
        template = names[0]
    if template not in names:
        raise SpaceError(f"space {space.name!r} has no template {template!r}; it has {', '.join(names)}")
    params = dict(space.params)
    params["template"] = Constant(template)
    for label in HELD_LABELS:
        if label in space.schema:
            params[label] = Constant(space.schema[label].default)
    return dataclasses.replace(space, params=params, templates=tuple(t for t in space.templates if t.name == template))


class UniformTrial:
    """The ``suggest_*`` calls of an Optuna trial answered uniformly at random from ``rng`` (SPOS's sampler)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self.rng.choice(list(choices))

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        return self.rng.choice(range(low, high + 1, step))

    def suggest_float(self, name: str, low: float, high: float, step: Optional[float] = None, log: bool = False):
        raise SpaceError(f"label {name!r} is a continuous range [{low}, {high}]: a supernet holds finitely many "
                         f"candidates; declare it as a list of choices (or an int range)")


def as_path(space: Any, graph: NeckGraph) -> NeckGraph:
    """``graph`` written as the one-template ``space`` writes it (its node names are the supernet's positions),
    with the held detector-level choices at their defaults; ``SpaceError`` if the space does not hold it."""
    held = {label.split("/", 1)[1]: space.distribution(label).constant for label in HELD_LABELS if label in space.schema}
    graph = dataclasses.replace(graph, detector=dataclasses.replace(graph.detector, **held))
    return space.freeze(space.sample_of(graph))


def reference_graph(space: Any, seed: int = 0) -> NeckGraph:
    """The path a supernet validates with: the first of the space's fixed points, then of its presets, that the
    one-template ``space`` holds, else a uniform draw (seeded)."""
    from necksearch.graph.presets import load_preset
    for name in (*space.fixed_points, *space.presets):
        try:
            return as_path(space, load_preset(name))
        except SpaceError:
            continue
    return draw(space, random.Random(seed))


def draw(space: Any, rng: random.Random) -> NeckGraph:
    """One graph of ``space``, every choice uniform."""
    return space.freeze(space.suggest(UniformTrial(rng)))


def candidate_key(node: Node, shapes: Mapping[str, NodeShape], producers: Mapping[str, Node]) -> str:
    """The weight-sharing identity of ``node`` in a graph with ``shapes`` and nodes ``producers`` (by name):
    position (name), op, explicit hyper-parameters, the input/output widths and scale that its constructor takes,
    and — for a node whose one input is another node — that node's op and hyper-parameters.

    The last rule makes a fusion and the 3×3 conv after it one choice block, as SPOS's blocks own all their weights
    (Guo et al. 2020): a conv shared by every fusion op at its level sees inputs of very different scale
    (concat, CARAFE, MSSA, RT, GACAP ...) and, measured on the default space's pyramid, its outputs ran away to an
    RMS of 10⁵ within 12 epochs, taking the shared heads with them (benchmarks/results/supernet.md).
    """
    shape = shapes[node.name]
    producer = block_producer(node, producers)
    block = None if producer is None else [revised_op(producer.op), explicit_args(producer)]
    text = json.dumps([node.name, revised_op(node.op), explicit_args(node), [shapes[name].channels for name in node.inputs],
                       shape.channels, shape.scale, block], sort_keys=True, separators=(",", ":"), default=str)
    return f"{node.name}_{node.op}_{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def block_producer(node: Node, producers: Mapping[str, Node]) -> Optional[Node]:
    """The node whose choice block ``node`` ends (its one input, when that is a node), or ``None``."""
    return producers.get(node.inputs[0]) if len(node.inputs) == 1 else None


def tie_group(node: Node, graph: NeckGraph) -> Tuple[str, str, Optional[str]]:
    """Candidates of one tie group share every weight of equal shape: same position, op, and op of the block they
    end (the values of an op's hyper-parameters that leave its weights' shapes alone — a window, a pooling, a
    number of parts, a gate — are one set of weights: sharing across an op's elastic choices as in Once-for-All, Cai
    et al. 2020, here only where the shapes are equal)."""
    producer = block_producer(node, {n.name: n for n in graph.nodes})
    return node.name, node.op, None if producer is None else producer.op


def path_steps(graph: NeckGraph, widths: Mapping[str, int]) -> Tuple[Tuple[str, Node], ...]:
    """(candidate key, node) of every node of a (scaled) graph, in topological order."""
    shapes = graph.infer_shapes(widths)
    producers = {node.name: node for node in graph.nodes}
    return tuple((candidate_key(node, shapes, producers), node) for node in graph.topological_order())


@dataclasses.dataclass(frozen=True)
class Candidates:
    """Every candidate of a one-template space at one width: key → (a graph holding it, the node).

    ``digest`` identifies the set (a supernet checkpoint is only valid for the same set); ``draws`` is how many
    uniform draws the enumeration took.
    """

    by_key: Mapping[str, Tuple[NeckGraph, Node]]
    draws: int

    @property
    def digest(self) -> str:
        return hashlib.sha256("\n".join(sorted(self.by_key)).encode()).hexdigest()

    def witnesses(self) -> List[NeckGraph]:
        """The distinct graphs that first showed each candidate."""
        unique = {graph.canonical_hash(): graph for graph, _ in self.by_key.values()}
        return list(unique.values())


def scaled(graph: NeckGraph, channels: int, widths: Mapping[str, int]) -> NeckGraph:
    """``graph`` at the supernet's pyramid width and backbone widths (as ``GraphNeck`` scales it)."""
    return graph.with_channels(channels, widths)


def enumerate_candidates(space: Any, channels: int, widths: Mapping[str, int], seed: int = 0) -> Candidates:
    """Draw graphs uniformly until :data:`PATIENCE` draws in a row add no candidate.

    Exhaustive enumeration of the space is exponential (choices multiply across levels), but each candidate
    depends only on the few choices at its position, so uniform draws reach all of them quickly: a candidate
    that a draw holds with probability p is missed with probability (1-p)^PATIENCE at most (< 1e-4 for
    p ≥ 1/200; the default space's rarest, a level-5 fusion that needs ``top/op = conv_down``, has p = 1/96).
    The default space's pyramid template gives 263 candidates, the last new one by draw ~500.
    """
    rng = random.Random(seed)
    by_key: Dict[str, Tuple[NeckGraph, Node]] = {}
    quiet = draws = 0
    while quiet < PATIENCE:
        if draws >= MAX_DRAWS:
            raise SpaceError(f"space {space.name!r}: {MAX_DRAWS} draws kept finding new candidates; the space is "
                             f"too large for a supernet (fewer choices per position)")
        draws += 1
        graph = scaled(draw(space, rng), channels, widths)
        fresh = [(key, node) for key, node in path_steps(graph, widths) if key not in by_key]
        for key, node in fresh:
            by_key[key] = (graph, node)
        quiet = 0 if fresh else quiet + 1
    return Candidates(by_key=by_key, draws=draws)


def template_candidates(space_file: str, template: Optional[str], channels: int, widths: Mapping[str, int],
                        seed: int = 0) -> Candidates:
    """:func:`enumerate_candidates` of one template of the space read from ``space_file`` (a path or a shipped
    space's name), computed once per process for the same file content: a supernet's training config and its
    ``SuperNeck`` both need the candidates, and enumerating takes seconds."""
    from necksearch.space import load_space
    source = load_space(space_file).source
    text = Path(source).read_text(encoding="utf-8")
    return _template_candidates(source, text, template, channels, tuple(sorted(widths.items())), seed)


@functools.lru_cache(maxsize=4)
def _template_candidates(source: str, text: str, template: Optional[str], channels: int,
                         widths: Tuple[Tuple[str, int], ...], seed: int) -> Candidates:
    from necksearch.space import load_space
    return enumerate_candidates(one_template(load_space(source), template), channels, dict(widths), seed)
