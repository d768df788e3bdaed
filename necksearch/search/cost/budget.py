"""The search's budgets, enforced where trials are handed out (``NeckSearcher.suggest``).

* ``--max-hours``: a session's wall time. No trial starts whose expected end would pass it.
* ``--max-trial-hours``: the whole run's training, over every session (``--resume`` keeps counting): the hours of
  training its own trials have spent, fixed points included (confirmations, screening and the calibration are not
  counted), on the clock its cost is measured on (``plan.cost_clock``: CPU-hours of the training processes on CPU,
  wall hours of each trial otherwise). No trial starts if the spend so far, plus what each running trial is expected
  to add, plus one more trial, would pass it. This is what equal budgets across searches need (a campaign's arms):
  ``--max-hours`` gives each session the same wall time, whatever it trained in it.

Running trials finish (each is at most one trial long past the last start, which the checks keep inside the
budget). The expected length of a trial is the plan's estimate of a full trial (wall seconds; a one-thread
training's CPU-seconds are at most that) until trials of this session have finished, then the longest of those.
The search then reports and stops; ``--resume`` continues it (with a larger ``--max-trial-hours`` once the run's
is spent).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Iterable, Mapping, Optional

SESSION, RUN = "session", "run"


@dataclasses.dataclass
class Budget:
    deadline: Optional[float]      #: ``time.monotonic()`` at which the session's budget ends; ``None``: no budget
    trial_s: float                 #: expected seconds of one trial
    run_limit_s: Optional[float] = None  #: the run's budget in trial-seconds (``--max-trial-hours``); ``None``: none
    clock: str = "wall"            #: what the run's budget counts: ``cpu`` or ``wall`` seconds (``plan.cost_clock``)
    ran_out: Optional[str] = None  #: which budget refused a trial (:data:`SESSION` or :data:`RUN`), once one did
    measured: bool = False

    @classmethod
    def of(cls, settings: Any, plan: Mapping[str, Any], session_start: float, clock: str) -> "Budget":
        deadline = session_start + settings.max_hours * 3600 if settings.max_hours else None
        run_limit_s = settings.max_trial_hours * 3600 if settings.max_trial_hours else None
        return cls(deadline=deadline, trial_s=float(plan["estimate"]["full_trial_s"]), run_limit_s=run_limit_s,
                   clock=clock)

    def allows_another(self, now: Optional[float] = None, run_spent_s: float = 0.0,
                       running_spent_s: Iterable[float] = ()) -> bool:
        """Whether a trial starting now is expected to end within every budget (records the one that refused).
        ``run_spent_s``: what the run's trials have spent so far, the running ones' recorded part included;
        ``running_spent_s``: the recorded part of each running trial (each is expected to reach a full trial)."""
        if self.deadline is not None and (time.monotonic() if now is None else now) + self.trial_s > self.deadline:
            self.ran_out = SESSION
            return False
        if self.run_limit_s is not None and self.run_commitment(run_spent_s, running_spent_s) > self.run_limit_s:
            self.ran_out = RUN
            return False
        return True

    def run_commitment(self, run_spent_s: float, running_spent_s: Iterable[float]) -> float:
        """The run's expected spend if one more trial starts: what is spent, what the running trials have left,
        and a full trial."""
        return run_spent_s + sum(max(0.0, self.trial_s - spent) for spent in running_spent_s) + self.trial_s

    def observe(self, seconds: float) -> None:
        """A trial of this session took ``seconds``: from now on, expect the longest one seen."""
        self.trial_s = max(self.trial_s if self.measured else 0.0, seconds)
        self.measured = True
