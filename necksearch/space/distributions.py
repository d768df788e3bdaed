"""Parameter distributions of a search space: categorical (plain or named choices), int and float ranges,
and constants. Torch- and Optuna-free; ``to_optuna`` and ``suggest`` import Optuna only when called.

A *sample value* is what a sample dict (and Optuna) holds; a *value* is what the template receives. They
differ only for named choices (``{"64(6-i)": [256, 192, 128, 64]}``: the sample holds the name), which is
how list- and mapping-valued choices fit Optuna's scalar categorical distribution.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable, List, Mapping, Optional, Tuple


def value_key(value: Any) -> Any:
    """A hashable key equal for equal JSON values, with numbers compared as numbers and bools apart."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(value_key(item) for item in value))
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((str(k), value_key(v)) for k, v in value.items())))
    return ("other", repr(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclasses.dataclass(frozen=True)
class Categorical:
    """A choice among ``names`` (the sample values); ``values[i]`` is what choosing ``names[i]`` means."""

    names: Tuple[Any, ...]
    values: Tuple[Any, ...]
    named: bool = False

    def _index(self, sample_value: Any) -> Optional[int]:
        key = value_key(sample_value)
        if self.named and not isinstance(sample_value, str):
            return None
        return next((i for i, name in enumerate(self.names) if value_key(name) == key), None)

    def contains(self, sample_value: Any) -> bool:
        return self._index(sample_value) is not None

    def canonical(self, sample_value: Any) -> Any:
        """The declared choice equal to ``sample_value`` (``0`` → the declared ``0.0``)."""
        return self.names[self._index(sample_value)]

    def value(self, sample_value: Any) -> Any:
        return self.values[self._index(sample_value)]

    def possible_values(self) -> List[Any]:
        return list(self.values)

    def candidates(self, observed: Optional[Iterable[Any]]) -> List[Any]:
        if observed is None:
            return list(self.names)
        keys = {value_key(v) for v in observed}
        return [name for name, value in zip(self.names, self.values) if value_key(value) in keys]

    def suggest(self, trial: Any, label: str) -> Any:
        return trial.suggest_categorical(label, list(self.names))

    def to_optuna(self) -> Any:
        from optuna.distributions import CategoricalDistribution
        return CategoricalDistribution(list(self.names))

    def describe(self) -> str:
        if self.named:
            return "one of " + ", ".join(f"{n} = {v}" for n, v in zip(self.names, self.values))
        return "one of " + ", ".join(repr(n) for n in self.names)


@dataclasses.dataclass(frozen=True)
class IntRange:
    """Integers low..high (inclusive) on a ``step`` grid from ``low``, optionally log-sampled."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def contains(self, sample_value: Any) -> bool:
        return isinstance(sample_value, int) and not isinstance(sample_value, bool) \
            and self.low <= sample_value <= self.high and (sample_value - self.low) % self.step == 0

    def canonical(self, sample_value: Any) -> Any:
        return sample_value

    def value(self, sample_value: Any) -> Any:
        return sample_value

    def possible_values(self) -> Optional[List[Any]]:
        return list(range(self.low, self.high + 1, self.step)) if (self.high - self.low) // self.step < 4096 else None

    def candidates(self, observed: Optional[Iterable[Any]]) -> List[Any]:
        if observed is None:
            return self.possible_values() or []
        found = {int(v) for v in observed if _is_number(v) and float(v).is_integer()}
        return sorted(v for v in found if self.contains(v))

    def suggest(self, trial: Any, label: str) -> Any:
        return trial.suggest_int(label, self.low, self.high, step=self.step, log=self.log)

    def to_optuna(self) -> Any:
        from optuna.distributions import IntDistribution
        return IntDistribution(self.low, self.high, log=self.log, step=self.step)

    def describe(self) -> str:
        return f"int in [{self.low}, {self.high}]" + (f" step {self.step}" if self.step != 1 else "") + \
            (" log" if self.log else "")


@dataclasses.dataclass(frozen=True)
class FloatRange:
    """Numbers in [low, high], optionally on a ``step`` grid from ``low`` or log-sampled."""

    low: float
    high: float
    step: Optional[float] = None
    log: bool = False

    def contains(self, sample_value: Any) -> bool:
        if not _is_number(sample_value) or not self.low <= sample_value <= self.high:
            return False
        if self.step is None:
            return True
        steps = (sample_value - self.low) / self.step
        return abs(steps - round(steps)) < 1e-8

    def canonical(self, sample_value: Any) -> Any:
        return float(sample_value)

    def value(self, sample_value: Any) -> Any:
        return float(sample_value)

    def possible_values(self) -> Optional[List[Any]]:
        return None

    def candidates(self, observed: Optional[Iterable[Any]]) -> List[Any]:
        pool = [self.low, self.high] if observed is None else list(observed)
        found = sorted({float(v) for v in pool if _is_number(v)})
        return [v for v in found if self.contains(v)]

    def suggest(self, trial: Any, label: str) -> Any:
        return trial.suggest_float(label, self.low, self.high, step=self.step, log=self.log)

    def to_optuna(self) -> Any:
        from optuna.distributions import FloatDistribution
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def describe(self) -> str:
        return f"float in [{self.low:g}, {self.high:g}]" + (f" step {self.step:g}" if self.step else "") + \
            (" log" if self.log else "")


@dataclasses.dataclass(frozen=True)
class Constant:
    """A fixed value: never suggested, never in a sample."""

    constant: Any

    def possible_values(self) -> List[Any]:
        return [self.constant]

    def describe(self) -> str:
        return f"constant {self.constant!r}"


Distribution = Any  # Categorical | IntRange | FloatRange (Constant is not searched)
