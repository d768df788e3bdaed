"""Search spaces over neck graphs (torch-free): YAML spaces, Optuna define-by-run sampling, freezing a
sample to a :class:`~necksearch.graph.NeckGraph`, and decoding a graph back to its sample.

    space = load_space("default")                  # search_spaces/default.yaml
    sample = space.suggest(trial)                  # define-by-run: only trial.suggest_* calls
    graph = space.freeze(sample)                   # pure
    space.sample_of(graph) == sample               # True, and space.contains(graph)
"""
from necksearch.space.errors import SpaceError
from necksearch.space.loader import list_spaces, load_space, parse_space
from necksearch.space.space import SearchSpace
from necksearch.space.templates import TEMPLATES

__all__ = ["SearchSpace", "SpaceError", "TEMPLATES", "list_spaces", "load_space", "parse_space"]
