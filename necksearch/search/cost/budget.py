"""``--max-hours``: a session's time budget, enforced where trials are handed out (``NeckSearcher.suggest``).

No trial starts whose expected end would pass the budget; running trials finish (each is at most one trial
long past the last start, which the check keeps inside the budget). The expected length of a trial is the
plan's estimate of a full trial until trials of this session have finished, then the longest of those.
The search then reports and stops; ``--resume`` continues it.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Mapping, Optional


@dataclasses.dataclass
class Budget:
    deadline: Optional[float]  #: ``time.monotonic()`` at which the session's budget ends; ``None``: no budget
    trial_s: float             #: expected seconds of one trial
    ran_out: bool = False      #: set once a trial was refused for the budget
    measured: bool = False

    @classmethod
    def of(cls, settings: Any, plan: Mapping[str, Any], session_start: float) -> "Budget":
        deadline = session_start + settings.max_hours * 3600 if settings.max_hours else None
        return cls(deadline=deadline, trial_s=float(plan["estimate"]["full_trial_s"]))

    def allows_another(self, now: Optional[float] = None) -> bool:
        """Whether a trial starting now is expected to end within the budget (records the refusal)."""
        if self.deadline is None:
            return True
        if (time.monotonic() if now is None else now) + self.trial_s <= self.deadline:
            return True
        self.ran_out = True
        return False

    def observe(self, seconds: float) -> None:
        """A trial of this session took ``seconds``: from now on, expect the longest one seen."""
        self.trial_s = max(self.trial_s if self.measured else 0.0, seconds)
        self.measured = True
