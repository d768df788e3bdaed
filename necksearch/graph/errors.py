"""The graph layer's error: a malformed or inconsistent neck graph, named down to the node and field."""
from __future__ import annotations

from necksearch.errors import NeckSearchError


class GraphError(NeckSearchError):
    """A neck graph (or its file) that is malformed or inconsistent; the message names what is at fault."""


def field_error(where: str, field: str, problem: str) -> GraphError:
    """``GraphError`` phrased as ``<where> field '<field>': <problem>`` (``where`` is e.g. ``node 't4'``)."""
    return GraphError(f"{where} field {field!r}: {problem}")
