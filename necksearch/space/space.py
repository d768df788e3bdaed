"""``SearchSpace``: templates plus the distributions a space file declares for their parameters.

The chain of design.md §2: ``suggest(trial) -> sample`` (define-by-run, only ``suggest_*`` calls),
``freeze(sample) -> NeckGraph`` (pure), and back: ``sample_of(graph)`` / ``contains(graph)``.
A sample is a plain dict, concrete label → sample value, holding exactly the labels asked.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, List, Mapping, Optional, Tuple

from necksearch.catalogue.domain import Domain
from necksearch.graph import NeckGraph
from necksearch.space.decode import decode
from necksearch.space.distributions import Categorical, Constant
from necksearch.space.errors import SpaceError
from necksearch.space.schema import Param, Template

#: Constraint names and the count each bounds (the caller's counter returns ``{"params": .., "flops": ..}``).
CONSTRAINTS: Dict[str, str] = {"max_neck_params": "params", "max_neck_flops": "flops"}


@dataclasses.dataclass(frozen=True)
class TrainCostBound:
    """A bound on what one training iteration of a sampled graph may cost: at most ``ratio`` × the seconds of one
    iteration of preset ``reference``, both measured on a trial's resources (the reference when the search starts,
    with its cost calibration; a sampled graph in its trial's first iterations: ``engine.hooks.TrainCostBoundHook``).
    A draw over it is refused like one that breaks a rule (PRUNED, ``constraint_violation``) after those few
    iterations; fixed points, confirmed graphs and distributed trials (``--workers`` > 1) train as asked. Seconds
    are the training process's CPU-seconds on CPU with in-process data loading, else wall seconds; the bound
    in seconds is measured when a search begins and kept in its study for every later session. Neck MACs cannot
    stand in: on the default space the costliest draws have FPT's MACs, and the detector-level SRS and CS, which
    the MAC count leaves out, set most of a trial's time (``benchmarks/results/draw_macs.json``,
    ``benchmarks/results/train_cost_bound.md``). ``why``: the measurement."""

    reference: str
    ratio: float
    why: str = ""


@dataclasses.dataclass(frozen=True)
class Rule:
    """A rule on what the sampler may combine: when every ``when`` label holds one of its values, every ``then``
    label must hold one of its values. A label of a per-level group (``td/op``) stands for that label at every
    level the sample asks it (``td/p4/op``, ``td/p3/op``, ...). ``why`` states the measurement behind the rule."""

    when: Mapping[str, Tuple[Any, ...]]
    then: Mapping[str, Tuple[Any, ...]]
    why: str = ""

    def violation(self, sample: Mapping[str, Any]) -> Optional[str]:
        """What in ``sample`` breaks the rule, in words, or ``None``."""
        for label, allowed in self.when.items():
            values = _values_of(sample, label)
            if not values or any(value not in allowed for _, value in values):
                return None
        wrong = [f"{key}={value}" for label, allowed in self.then.items()
                 for key, value in _values_of(sample, label) if value not in allowed]
        if not wrong:
            return None
        shown = lambda labels: ", ".join(f"{k} in {list(v)}" for k, v in labels.items())  # noqa: E731
        return f"rule {shown(self.when)} → {shown(self.then)}: {', '.join(wrong)}"


def _values_of(sample: Mapping[str, Any], label: str) -> List[Tuple[str, Any]]:
    """(key, value) of ``sample`` for generic ``label``: the key itself, or its per-level keys (``td/p4/op``)."""
    head, _, rest = label.partition("/")
    return [(key, value) for key, value in sample.items()
            if key == label or (key.startswith(f"{head}/p") and key.split("/", 2)[1][1:].isdigit()
                                and key.split("/", 2)[2:] == [rest])]


@dataclasses.dataclass(frozen=True, eq=False)
class SearchSpace:
    """A search space (build it with :func:`necksearch.space.load_space`).

    Attributes:
        name: the space's name (its file name without suffix unless the file says otherwise).
        source: the file it was read from.
        templates: the templates it may pick (``template`` label when there are several).
        per_level: per group (``td``, ``bu``, ``fpt``), whether each level has its own choices.
        params: declared distributions (``Categorical``/``IntRange``/``FloatRange``/``Constant``) by
            generic label; undeclared parameters keep the template's default.
        schema: every parameter the templates may ask for, by generic label (``template`` included).
        constraints: bounds by name (``max_neck_params``, ``max_neck_flops``); counted by the caller.
        presets: the preset names the file lists (all contained; checked when loading).
        fixed_points: presets a search evaluates before sampling, in order (contained too).
        description: free text.
        rules: :class:`Rule` s on what the sampler may combine (a fixed point is trained as asked).
        max_train_cost: the :class:`TrainCostBound` on a sampled graph's training iteration, or ``None``.
    """

    name: str
    source: str
    templates: Tuple[Template, ...]
    per_level: Mapping[str, bool]
    params: Mapping[str, Any]
    schema: Mapping[str, Param]
    constraints: Mapping[str, float]
    presets: Tuple[str, ...] = ()
    fixed_points: Tuple[str, ...] = ()
    description: str = ""
    rules: Tuple[Rule, ...] = ()
    max_train_cost: Optional[TrainCostBound] = None

    # ------------------------------------------------------------------ the chain
    def suggest(self, trial: Any) -> Dict[str, Any]:
        """Ask ``trial`` (an Optuna trial, or ``FixedTrial(sample)`` to replay) for a sample; only
        ``suggest_*`` calls. Raises ``SpaceError`` if the trial returns a value outside the space."""
        ask = _SuggestAsk(self, trial)
        self._build(ask)
        return dict(ask.sample)

    def freeze(self, sample: Mapping[str, Any]) -> NeckGraph:
        """The graph of ``sample``; ``SpaceError`` names a missing, out-of-range or unknown label."""
        if not isinstance(sample, Mapping):
            raise SpaceError(f"space {self.name!r}: a sample is a mapping label → value, got {type(sample).__name__}")
        ask = _FreezeAsk(self, sample)
        graph = self._build(ask)
        unused = sorted(set(sample) - set(ask.sample))
        if unused:
            raise SpaceError(f"space {self.name!r}: sample has labels this point of the space does not use: "
                             f"{', '.join(map(repr, unused))}")
        return graph

    def sample_of(self, graph: NeckGraph) -> Dict[str, Any]:
        """The sample that freezes to ``graph`` (same canonical hash); ``SpaceError`` if there is none."""
        if not isinstance(graph, NeckGraph):
            raise SpaceError(f"space {self.name!r}: sample_of needs a NeckGraph, got {type(graph).__name__}")
        sample = decode(self, graph)
        if sample is None:
            raise SpaceError(f"space {self.name!r} ({self.source}) does not contain graph {graph.name!r}")
        return sample

    def contains(self, graph: NeckGraph) -> bool:
        """Whether some sample freezes to a graph with ``graph``'s canonical hash."""
        return isinstance(graph, NeckGraph) and decode(self, graph) is not None

    # ------------------------------------------------------------------ description
    def labels(self) -> Dict[str, Any]:
        """Every searched label this space can ask (per-level ones expanded) → its distribution
        (``to_optuna()`` gives Optuna's; ``describe()`` words)."""
        table: Dict[str, Any] = {}
        for name, param in self.schema.items():
            dist = self.distribution(name)
            if isinstance(dist, Constant) or not self._reachable(param.when):
                continue
            independent = self.per_level.get(param.group or "", False)
            for level in (param.levels if independent else (None,)):
                if level is None or self._reachable(param.level_when.get(level, ())):
                    table[param.label(level, independent)] = dist
        return dict(sorted(table.items()))

    def distribution(self, name: str) -> Any:
        """The declared distribution of generic label ``name``, or ``Constant(default)``."""
        return self.params.get(name, Constant(self.schema[name].default))

    def check_constraints(self, counts: Mapping[str, float]) -> List[str]:
        """Violated bounds in words (empty: feasible). ``counts`` holds ``params`` and/or ``flops`` as the
        caller's counter (which needs torch) measured them; a bounded count that is missing is an error."""
        return [f"{name}: {counts[CONSTRAINTS[name]]:g} > {bound:g}"
                for name, bound, value in self._constraint_items(counts) if value > bound]

    def check_rules(self, sample: Mapping[str, Any]) -> List[str]:
        """The space's rules that ``sample`` breaks, in words (empty: allowed)."""
        return [text for text in (rule.violation(sample) for rule in self.rules) if text]

    def constraint_values(self, counts: Mapping[str, float]) -> List[float]:
        """Optuna's ``constraints_func`` form: count − bound per declared constraint (≤ 0 is feasible)."""
        return [float(value - bound) for _, bound, value in self._constraint_items(counts)]

    # ------------------------------------------------------------------ internals
    def _constraint_items(self, counts: Mapping[str, float]) -> List[Tuple[str, float, float]]:
        items = []
        for name, bound in sorted(self.constraints.items()):
            key = CONSTRAINTS[name]
            value = counts.get(key) if isinstance(counts, Mapping) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise SpaceError(f"space {self.name!r}: constraint {name} needs a finite count {key!r}, "
                                 f"got {value!r}")
            items.append((name, bound, value))
        return items

    def _reachable(self, conditions: Tuple[Tuple[str, Any], ...]) -> bool:
        for name, values in conditions:
            possible = self.distribution(name).possible_values() or []
            if not self._reachable(self.schema[name].when) or not any(v in values for v in possible):
                return False
        return True

    def _build(self, ask: Any) -> NeckGraph:
        template = {t.name: t for t in self.templates}[ask("template")]
        graph = template.build(ask)
        return dataclasses.replace(graph, name=f"{self.name}/{template.name}")

    def _ask(self, ask: Any, name: str, level: Optional[int]) -> Any:
        """Resolve one question of a template for the asker ``ask`` (freeze, suggest or decode)."""
        param = self.schema[name]
        label = param.label(level, self.per_level.get(param.group or "", False))
        if label in ask.values:
            return ask.values[label]
        dist = self.distribution(name)
        if isinstance(dist, Constant):
            return dist.constant
        sample_value = ask.choose(label, param, dist)
        ask.sample[label] = sample_value
        ask.values[label] = dist.value(sample_value)
        return ask.values[label]


class _FreezeAsk:
    def __init__(self, space: SearchSpace, sample: Mapping[str, Any]) -> None:
        self.space, self.given = space, sample
        self.sample: Dict[str, Any] = {}
        self.values: Dict[str, Any] = {}

    def __call__(self, name: str, level: Optional[int] = None) -> Any:
        return self.space._ask(self, name, level)

    def choose(self, label: str, param: Param, dist: Any) -> Any:
        if label not in self.given:
            raise SpaceError(f"space {self.space.name!r}: sample has no value for {label!r} ({dist.describe()})")
        return _checked(self.space, label, dist, self.given[label])


class _SuggestAsk(_FreezeAsk):
    def __init__(self, space: SearchSpace, trial: Any) -> None:
        super().__init__(space, {})
        self.trial = trial

    def choose(self, label: str, param: Param, dist: Any) -> Any:
        return _checked(self.space, label, dist, dist.suggest(self.trial, label))


def _checked(space: SearchSpace, label: str, dist: Any, value: Any) -> Any:
    if not dist.contains(value):
        raise SpaceError(f"space {space.name!r}: {label!r} = {value!r} is outside the space: {dist.describe()}")
    return dist.canonical(value)


def template_param(names: Tuple[str, ...]) -> Tuple[Param, Any]:
    """The ``template`` parameter and its distribution (a constant when there is one template)."""
    param = Param("template", Domain("str", names[0], choices=names), doc="which graph skeleton")
    dist = Categorical(names, names) if len(names) > 1 else Constant(names[0])
    return param, dist
