"""Reading search spaces from YAML (``search_spaces/*.yaml``).

Format (every key but ``templates`` optional)::

    name: default                  # default: the file name without suffix
    description: free text
    templates: [pyramid, fpt]      # graph skeletons (necksearch.space.templates); with several, the
                                   # categorical label `template` picks one
    per_level: {td: true, bu: true, fpt: false}
                                   # groups whose per-level parameters are independent per level
                                   # (labels td/p3/op, td/p3/gacarafe/up_kernel) or shared (td/op);
                                   # default false (shared)
    parameters:                    # generic label → what it may take; undeclared labels keep the
                                   # template default (pyramid: FPN; fpt: BFP + 3×3)
      td/op: [sum, gacarafe, mssa]           # a list: categorical choices (scalars)
      lateral/mgc/entities:                  # named choices: the sample holds the name
        choices: {"64(6-i)": [256, 192, 128, 64], "160": [160, 160, 160, 160]}
      td/gacarafe/up_kernel: {type: int, low: 3, high: 7, step: 2}
      detector/consistent_supervision: {type: float, low: 0.0, high: 0.5, log: false}
      lateral/mgc/orthogonal_weight: 1.0e-4  # a scalar (or {constant: value}): fixed, not searched
    constraints: {max_neck_params: 2.0e7, max_neck_flops: null}
                                   # bounds the caller checks with its own counter (needs torch):
                                   # space.check_constraints({"params": p, "flops": f})
    max_train_cost: {reference: augfpn, ratio: 1.5, why: measured ...}
                                   # a sampled graph whose first training iterations cost more than ratio ×
                                   # the reference preset's (both measured on a trial's resources: CPU-seconds
                                   # on CPU, else wall; the reference when the search begins) is refused
                                   # (fixed points, confirmations, resumed and distributed trials train
                                   # as asked)
    rules:                         # what the sampler may combine (a fixed point is trained as asked):
      - if: {lateral/op: mgc}      #   when every `if` label holds one of its values (per-level labels
        then: {td/op: gacarafe}    #   at every level), every `then` label must hold one of its values;
        why: measured ...          #   space.check_rules(sample) lists what a sample breaks
    presets: [fpn, pafpn]          # presets this space must contain (checked at load)
    fixed_points: [fpn]            # presets a search evaluates first, in this order (contained too)

Labels, their domains and defaults: ``necksearch.space.templates`` (``SearchSpace.labels()`` lists the
searched ones). Every mistake — YAML syntax, unknown or duplicate key, wrong type, unknown operation,
empty or inverted range, a value outside its domain, a listed preset the space cannot produce — raises
``SpaceError`` naming the file and the key.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import yaml

from necksearch.catalogue.domain import Domain
from necksearch.graph import GraphError
from necksearch.graph.presets import list_presets, load_preset
from necksearch.resources import resource_dir
from necksearch.space.distributions import Categorical, Constant, FloatRange, IntRange, value_key
from necksearch.space.errors import SpaceError
from necksearch.space.schema import Param, by_name
from necksearch.space.space import CONSTRAINTS, Rule, SearchSpace, TrainCostBound, template_param
from necksearch.space.templates import TEMPLATES

SPACE_DIR = resource_dir("search_spaces")
TOP_KEYS = ("name", "description", "templates", "per_level", "parameters", "constraints", "max_train_cost", "rules",
            "presets", "fixed_points")
RANGE_KEYS = ("type", "low", "high", "step", "log")
_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _Loader(yaml.SafeLoader):
    """Safe loader that reads ``1e-4`` as a float and refuses duplicate keys."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise _Duplicate(key, key_node.start_mark.line + 1)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))


class _Duplicate(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"duplicate key {key!r} (line {line})")
        self.key, self.line = key, line


def list_spaces() -> List[str]:
    """Names of the spaces shipped in ``search_spaces/`` (when the repository is at hand)."""
    return sorted(p.stem for p in SPACE_DIR.glob("*.yaml"))


def load_space(path: Union[str, Path]) -> SearchSpace:
    """Read a space from a YAML file, or by name from ``search_spaces/`` (``load_space("default")``)."""
    path = Path(path)
    if path.suffix not in (".yaml", ".yml") and not path.exists():
        path = SPACE_DIR / f"{path}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpaceError(f"{path}: cannot read the space file: {error}") from None
    return parse_space(text, str(path), default_name=path.stem)


def parse_space(text: str, source: str = "<string>", default_name: str = "space") -> SearchSpace:
    """A space from YAML text; ``SpaceError`` names ``source`` and the key at fault."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except _Duplicate as dup:
        raise SpaceError(f"{source}: key {dup.key!r}: duplicate label/key (line {dup.line})") from None
    except RecursionError:
        raise SpaceError(f"{source}: not valid YAML: nested too deeply") from None
    except Exception as error:  # PyYAML constructors also raise ValueError/TypeError/AttributeError
        raise SpaceError(f"{source}: not valid YAML: {error}") from None
    try:
        return _Reader(source).space(data, default_name)
    except RecursionError:
        raise SpaceError(f"{source}: nested too deeply (a recursive YAML alias?)") from None


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, problem: str) -> SpaceError:
        return SpaceError(f"{self.source}: key {key!r}: {problem}")

    def mapping(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a mapping, got {type(value).__name__}")
        for item in value:
            if not isinstance(item, str):
                raise self.error(key, f"keys must be strings, got {item!r}")
        return value

    def space(self, data: Any, default_name: str) -> SearchSpace:
        if not isinstance(data, Mapping):
            raise SpaceError(f"{self.source}: top level: expected a mapping, got {type(data).__name__}")
        self.mapping(data, "top level")
        for key in data:
            if key not in TOP_KEYS:
                raise self.error(key, f"unknown key; known: {', '.join(TOP_KEYS)}")
        if "templates" not in data:
            raise self.error("templates", "missing (a list of templates: " + ", ".join(TEMPLATES) + ")")
        name, description = (self.string(data.get(k, d), k) for k, d in (("name", default_name), ("description", "")))
        templates = self.templates(data["templates"])
        t_param, t_dist = template_param(tuple(t.name for t in templates))
        schema = {"template": t_param, **by_name(p for t in templates for p in t.params)}
        per_level = self.per_level(_optional(data, "per_level", {}), templates)
        params = {"template": t_dist}
        params.update(self.parameters(_optional(data, "parameters", {}), schema))
        space = SearchSpace(name=name, source=self.source, templates=templates, per_level=per_level,
                            params=params, schema=schema, constraints=self.constraints(_optional(data, "constraints", {})),
                            presets=self.presets(_optional(data, "presets", []), "presets"),
                            fixed_points=self.presets(_optional(data, "fixed_points", []), "fixed_points"),
                            description=description, rules=self.rules(_optional(data, "rules", []), params),
                            max_train_cost=self.train_cost_bound(data.get("max_train_cost")))
        self.check_presets(space)
        return space

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {type(value).__name__}")
        return value

    def names(self, value: Any, key: str) -> List[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of names, got {value!r}")
        if len(set(value)) != len(value):
            raise self.error(key, f"duplicate entries in {value!r}")
        return value

    def templates(self, value: Any) -> Tuple[Any, ...]:
        names = self.names(value, "templates")
        if not names:
            raise self.error("templates", "empty; name at least one of " + ", ".join(TEMPLATES))
        for name in names:
            if name not in TEMPLATES:
                raise self.error("templates", f"unknown template {name!r}; known: {', '.join(TEMPLATES)}")
        return tuple(TEMPLATES[n] for n in names)

    def per_level(self, value: Any, templates: Tuple[Any, ...]) -> Dict[str, bool]:
        groups = sorted({g for t in templates for g in t.groups})
        for group, flag in self.mapping(value, "per_level").items():
            if group not in groups:
                raise self.error(f"per_level.{group}", f"unknown group; the templates have {', '.join(groups)}")
            if not isinstance(flag, bool):
                raise self.error(f"per_level.{group}", f"expected true or false, got {flag!r}")
        return {g: value.get(g, False) for g in groups}

    def parameters(self, value: Any, schema: Mapping[str, Param]) -> Dict[str, Any]:
        params = {}
        for label, spec in self.mapping(value, "parameters").items():
            key = f"parameters.{label}"
            if label not in schema or label == "template":
                raise self.error(key, _unknown_label(label))
            params[label] = self.distribution(spec, schema[label].domain, key)
        return params

    def distribution(self, spec: Any, domain: Domain, key: str) -> Any:
        if isinstance(spec, list):
            return self.categorical(spec, domain, key)
        if not isinstance(spec, Mapping):
            return self.constant(spec, domain, key)
        self.mapping(spec, key)
        if set(spec) == {"constant"}:
            return self.constant(spec["constant"], domain, key)
        if set(spec) == {"choices"}:
            choices = spec["choices"]
            if isinstance(choices, Mapping):
                return self.named(self.mapping(choices, f"{key}.choices"), domain, key)
            if not isinstance(choices, list):
                raise self.error(f"{key}.choices", f"expected a list or a mapping name → value, got {choices!r}")
            return self.categorical(choices, domain, key)
        return self.range(spec, domain, key)

    def constant(self, value: Any, domain: Domain, key: str) -> Constant:
        value = domain.coerce(value)
        problem = domain.problem(value)
        if problem:
            raise self.error(key, problem)
        return Constant(value)

    def categorical(self, choices: List[Any], domain: Domain, key: str) -> Categorical:
        for choice in choices:
            if not (choice is None or isinstance(choice, (str, int, float, bool))):
                raise self.error(key, f"choice {choice!r} is not a scalar; give list or mapping values names: "
                                      "{choices: {name: value, ...}}")
        values = [self.constant(c, domain, key).constant for c in choices]
        self.check_choices(values, key)
        return Categorical(tuple(values), tuple(values))

    def named(self, choices: Mapping[str, Any], domain: Domain, key: str) -> Categorical:
        values = [self.constant(v, domain, f"{key}.choices.{n}").constant for n, v in choices.items()]
        self.check_choices(values, key)
        return Categorical(tuple(choices), tuple(values), named=True)

    def check_choices(self, values: List[Any], key: str) -> None:
        if not values:
            raise self.error(key, "empty list of choices")
        keys = [value_key(v) for v in values]
        if len(set(keys)) != len(keys):
            raise self.error(key, f"duplicate choices in {values!r}")

    def range(self, spec: Mapping[str, Any], domain: Domain, key: str) -> Any:
        for item in spec:
            if item not in RANGE_KEYS:
                raise self.error(f"{key}.{item}", "unknown key; a parameter is a list of choices, "
                                                  "{choices: ...}, {constant: ...} or {type, low, high, step, log}")
        range_type = spec.get("type")
        if range_type not in ("int", "float"):
            raise self.error(f"{key}.type", f"expected int or float, got {range_type!r}")
        if domain.type != range_type:
            raise self.error(f"{key}.type", f"a {range_type} range cannot give {domain.describe()}")
        low, high, step, log = (spec.get(k) for k in ("low", "high", "step", "log"))
        number = int if range_type == "int" else (int, float)
        for item, value in (("low", low), ("high", high)) + ((("step", step),) if step is not None else ()):
            if isinstance(value, bool) or not isinstance(value, number):
                raise self.error(f"{key}.{item}", f"expected {'an integer' if range_type == 'int' else 'a number'}, "
                                                  f"got {value!r}")
        if not isinstance(log if log is not None else False, bool):
            raise self.error(f"{key}.log", f"expected true or false, got {log!r}")
        return self.checked_range(range_type, low, high, step, bool(log), domain, key)

    def checked_range(self, range_type: str, low: Any, high: Any, step: Any, log: bool, domain: Domain,
                      key: str) -> Any:
        if low > high:
            raise self.error(key, f"inverted range: low {low} > high {high}")
        if step is not None and step <= 0:
            raise self.error(f"{key}.step", f"must be positive, got {step}")
        if log and (low <= 0 or (step is not None and (range_type == "float" or step != 1))):
            raise self.error(f"{key}.log", "a log range needs low > 0 and no step (ints: step 1)")
        for item, value in (("low", low), ("high", high)):
            problem = domain.problem(domain.coerce(value))
            if problem:
                raise self.error(f"{key}.{item}", problem)
        if range_type == "int":
            step = step or 1
            if (high - low) % step:
                raise self.error(f"{key}.high", f"{high} is not on the grid low {low} + k·step {step}")
            if domain.odd and step % 2:
                raise self.error(f"{key}.step", f"odd values need an even step, got {step}")
            return IntRange(low, high, step, log)
        if step is not None and abs((high - low) / step - round((high - low) / step)) > 1e-9:
            raise self.error(f"{key}.high", f"{high} is not on the grid low {low} + k·step {step}")
        return FloatRange(float(low), float(high), None if step is None else float(step), log)

    def constraints(self, value: Any) -> Dict[str, float]:
        bounds = {}
        for name, bound in self.mapping(value, "constraints").items():
            if name not in CONSTRAINTS:
                raise self.error(f"constraints.{name}", f"unknown constraint; known: {', '.join(CONSTRAINTS)}")
            if bound is None:
                continue
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not bound > 0 or bound == float("inf"):
                raise self.error(f"constraints.{name}", f"expected a positive number or null, got {bound!r}")
            bounds[name] = float(bound)
        return bounds

    def train_cost_bound(self, value: Any) -> Optional[TrainCostBound]:
        """``max_train_cost``: ``{reference: PRESET, ratio: NUMBER, why: text}`` or absent/``null``."""
        if value is None:
            return None
        key = "max_train_cost"
        entry = self.mapping(value, key)
        unknown = sorted(set(entry) - {"reference", "ratio", "why"})
        if unknown or "reference" not in entry or "ratio" not in entry:
            raise self.error(key, "expected {reference: PRESET, ratio: NUMBER, why: text}"
                             + (f"; unknown keys {', '.join(unknown)}" if unknown else ""))
        reference = self.string(entry["reference"], f"{key}.reference")
        if reference not in set(list_presets()):
            raise self.error(f"{key}.reference", f"unknown preset {reference!r}")
        ratio = entry["ratio"]
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio < float("inf"):
            raise self.error(f"{key}.ratio", f"expected a positive number, got {ratio!r}")
        return TrainCostBound(reference, float(ratio), self.string(entry.get("why", ""), f"{key}.why"))

    def rules(self, value: Any, params: Mapping[str, Any]) -> Tuple[Rule, ...]:
        """``rules``: a list of ``{if: {LABEL: value or [values]}, then: {LABEL: ...}, why: text}`` on searched labels."""
        if not isinstance(value, list):
            raise self.error("rules", f"expected a list, got {type(value).__name__}")
        rules = []
        for index, entry in enumerate(value):
            key = f"rules[{index}]"
            entry = self.mapping(entry, key)
            unknown = sorted(set(entry) - {"if", "then", "why"})
            if unknown or "if" not in entry or "then" not in entry:
                raise self.error(key, "expected {if: {LABEL: values}, then: {LABEL: values}, why: text}"
                                 + (f"; unknown keys {', '.join(unknown)}" if unknown else ""))
            rules.append(Rule(when=self.rule_labels(entry["if"], f"{key}.if", params),
                              then=self.rule_labels(entry["then"], f"{key}.then", params),
                              why=self.string(entry.get("why", ""), f"{key}.why")))
        return tuple(rules)

    def rule_labels(self, value: Any, key: str, params: Mapping[str, Any]) -> Dict[str, Tuple[Any, ...]]:
        """A rule's labels and values: each label searched by this space (a sample holds it), each value one it can
        take (a named choice by its name)."""
        labels = {}
        for label, values in self.mapping(value, key).items():
            dist = params.get(label)
            if dist is None or isinstance(dist, Constant):
                raise self.error(f"{key}.{label}", "not a label this space searches (a sample never holds it)")
            values = tuple(values) if isinstance(values, list) else (values,)
            possible = dist.names if isinstance(dist, Categorical) else dist.possible_values()
            wrong = [v for v in values if possible is not None and v not in possible]
            if wrong:
                raise self.error(f"{key}.{label}", f"{wrong[0]!r} is not one of its values {list(possible)}")
            labels[label] = values
        if not labels:
            raise self.error(key, "names no label")
        return labels

    def presets(self, value: Any, key: str) -> Tuple[str, ...]:
        names = self.names(value, key)
        known = set(list_presets())
        for name in names:
            if name not in known:
                raise self.error(key, f"unknown preset {name!r}")
        return tuple(names)

    def check_presets(self, space: SearchSpace) -> None:
        for key in ("presets", "fixed_points"):
            for name in getattr(space, key):
                try:
                    graph = load_preset(name)
                except GraphError as error:
                    raise self.error(key, f"preset {name!r} cannot be read: {error}") from None
                if not space.contains(graph):
                    raise self.error(key, f"preset {name!r} is not a point of this space")


def _optional(data: Mapping[str, Any], key: str, empty: Any) -> Any:
    """``data[key]``, with a missing key or ``null`` read as ``empty``."""
    value = data.get(key)
    return empty if value is None else value


def _unknown_label(label: str) -> str:
    owners = [name for name, t in TEMPLATES.items() if any(p.name == label for p in t.params)]
    if owners:
        return f"a label of template {', '.join(owners)}, which this space does not use"
    hint = " (declare a per-level label once, without p<level>, and set per_level)" \
        if re.search(r"/p[0-9]+/", label) else ""
    return f"unknown label{hint}; see SearchSpace.labels() or necksearch/space/templates.py"
