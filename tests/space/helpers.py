"""Shared helpers of the search-space tests: shipped spaces loaded once, and a hypothesis-driven trial."""
from __future__ import annotations

import functools
from pathlib import Path

from hypothesis import strategies as st

from necksearch.space import load_space
from necksearch.space.loader import SPACE_DIR

SPACE_NAMES = sorted(p.stem for p in SPACE_DIR.glob("*.yaml"))


@functools.lru_cache(maxsize=None)
def space(name: str):
    """A shipped space, loaded (and its presets checked) once per test session."""
    return load_space(SPACE_DIR / f"{name}.yaml")


def space_text(name: str) -> str:
    return (SPACE_DIR / f"{name}.yaml").read_text(encoding="utf-8")


class DrawTrial:
    """An Optuna-trial look-alike whose ``suggest_*`` draw from a hypothesis ``data`` object."""

    def __init__(self, data) -> None:
        self.data = data

    def suggest_categorical(self, name, choices):
        return self.data.draw(st.sampled_from(list(choices)), label=name)

    def suggest_int(self, name, low, high, step=1, log=False):
        return self.data.draw(st.integers(0, (high - low) // step).map(lambda k: low + k * step), label=name)

    def suggest_float(self, name, low, high, step=None, log=False):
        if step:
            count = int(round((high - low) / step))
            return self.data.draw(st.integers(0, count).map(lambda k: low + k * step), label=name)
        return self.data.draw(st.floats(low, high, allow_nan=False), label=name)


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
