"""The one home of the rankers' names: what ``--screen SCORE:N`` may rank by, and its parsed form.

A ranker orders graphs before any of them is trained: a zero-cost score at initialisation (``rank/zero_cost.py``,
highest first, or lowest first for those of :data:`LOWEST_FIRST`) or a trained supernet's inherited-weight mAP
(``rank/supernet_screen.py``). Plain data: settings are checked against it before anything heavy is imported.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from necksearch.errors import NeckSearchError

#: The supernet ranker (``--screen supernet:N``, ``necksearch fidelity --supernet``).
SUPERNET = "supernet"
#: The zero-cost scores (``rank/zero_cost.py``), each ranking highest first.
SCORES = ("params", "flops", "synflow", "naswot", "grad_norm", "zico")

#: Rankers that order graphs by a score's lowest values first, where training was measured to agree with that
#: order: grad-norm at initialisation was anti-correlated with trained mAP on grid2's 16 graphs (Kendall τ −0.37)
#: and, chosen there, again on 12 graphs it was not chosen on (−0.42 / −0.33 for two initialisations;
#: benchmarks/results/zero_cost.md).
LOWEST_FIRST = {"low_grad_norm": "grad_norm"}

#: What ``--screen`` may rank by: a zero-cost score (highest first, or lowest first for those of
#: :data:`LOWEST_FIRST`), or a trained supernet's inherited-weight mAP (``rank/supernet_screen.py``).
RANKERS = (*SCORES, *LOWEST_FIRST, SUPERNET)


class Screen(NamedTuple):
    """``--screen SCORE:N`` parsed: rank by ``score``, screen ``count`` graphs."""

    score: str
    count: int


def parse_screen(value: Any) -> Screen:
    """``"zico:50"`` → (score, how many graphs to screen); ``NeckSearchError`` names ``--screen``."""
    score, _, count = str(value).partition(":")
    if score not in RANKERS or not count.isdigit() or int(count) < 1:
        raise NeckSearchError(f"--screen {value!r}: give SCORE:N, N graphs to score, SCORE one of {', '.join(RANKERS)} "
                              "(e.g. zico:50, supernet:100)")
    return Screen(score, int(count))
