"""The search-space layer's error: a malformed space file, an invalid sample, or a graph outside the space."""
from __future__ import annotations

from necksearch.errors import NeckSearchError


class SpaceError(NeckSearchError):
    """A search space (or its file), a sample or a graph that does not fit; the message names the file,
    key or parameter label at fault."""
