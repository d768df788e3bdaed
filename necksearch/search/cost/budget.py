"""The search's budgets, enforced where trials are handed out (``NeckSearcher.suggest``).

* ``--max-hours``: a session's wall time. No trial starts, a killed session's interrupted trial included, whose
  expected end would pass it. The expected length of a trial is the plan's estimate of a full trial until trials of
  this session have finished, then the longest of those.
* ``--max-trial-hours``: the whole run's training, over every session (``--resume`` keeps counting): what its own
  trials have spent (``core.study.own_trainings``: fixed points in; confirmations, screening and the calibration
  out), on the clock the run's cost is measured on (``plan.cost_clock``: CPU-seconds of the training processes on
  CPU with in-process loading, each trial's wall seconds otherwise). No new trial starts if the spend so far, plus
  what each running trial is expected to add, plus one more trial, would pass it; an interrupted trial is already
  counted and continues. The expected spend of a trial is the most a completed trial of the run spent, and before
  any completed, the plan's full trial (its wall seconds, times the trial's threads on the CPU clock). While running
  trials could still end early (ASHA stops most after a rung) and leave room, the searcher waits instead of
  finishing. This is what equal budgets across searches need (a campaign's arms): ``--max-hours`` gives each session
  the same wall time, whatever it trained in it.

Running trials finish (each is at most one trial long past the last start, which the checks keep inside the
budget). The search then reports and stops; ``--resume`` continues it (with a larger ``--max-trial-hours`` once the
run's is spent).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Iterable, Mapping, Optional

SESSION, RUN = "session", "run"
#: What :meth:`Budget.run_verdict` answers: a new trial fits; not yet (running trials may leave room); never.
FITS, WAIT, SPENT = "fits", "wait", "spent"


@dataclasses.dataclass
class Budget:
    deadline: Optional[float]      #: ``time.monotonic()`` at which the session's budget ends; ``None``: no budget
    trial_s: float                 #: expected wall seconds of one trial of the session
    run_limit_s: Optional[float] = None  #: the run's budget in seconds on ``clock``; ``None``: no run budget
    clock: str = "wall"            #: what the run's budget counts: ``cpu`` or ``wall`` seconds (``plan.cost_clock``)
    run_trial_s: float = 0.0       #: a trial's expected spend on ``clock`` until a trial of the run has completed
    ran_out: Optional[str] = None  #: which budget ended the hand-outs (:data:`SESSION` or :data:`RUN`), once one did
    measured: bool = False

    @classmethod
    def of(cls, settings: Any, plan: Mapping[str, Any], session_start: float) -> "Budget":
        deadline = session_start + settings.max_hours * 3600 if settings.max_hours else None
        trial_s = float(plan["estimate"]["full_trial_s"])
        clock = plan["cost_clock"]
        threads = settings.cpus_per_trial if clock == "cpu" else 1.0
        return cls(deadline=deadline, trial_s=trial_s, clock=clock, run_trial_s=trial_s * threads,
                   run_limit_s=settings.max_trial_hours * 3600 if settings.max_trial_hours else None)

    def session_allows(self, now: Optional[float] = None) -> bool:
        """Whether a trial starting now is expected to end within the session's budget (records a refusal)."""
        if self.deadline is None or (time.monotonic() if now is None else now) + self.trial_s <= self.deadline:
            return True
        self.ran_out = SESSION
        return False

    def run_verdict(self, run_spent_s: float = 0.0, running_spent_s: Iterable[float] = (),
                    completed_spent_s: Iterable[float] = (), can_wait: bool = True) -> str:
        """Whether one more trial fits the run's budget: :data:`FITS`; :data:`WAIT` when it would fit only if the
        running trials ended now (and ``can_wait``: some of them run in this session, so their end will come);
        :data:`SPENT` (recorded) otherwise.
        ``run_spent_s``: what the run's trials have spent, the running ones' recorded part included;
        ``running_spent_s``: the recorded part of each running trial; ``completed_spent_s``: what each completed
        trial of the run spent (the largest is the expected spend of a trial)."""
        if self.run_limit_s is None:
            return FITS
        trial = max(completed_spent_s, default=self.run_trial_s)
        remaining = sum(max(0.0, trial - spent) for spent in running_spent_s)
        if run_spent_s + remaining + trial <= self.run_limit_s:
            return FITS
        if can_wait and run_spent_s + trial <= self.run_limit_s:
            return WAIT
        self.ran_out = RUN
        return SPENT

    def observe(self, seconds: float) -> None:
        """A trial of this session took ``seconds``: from now on, expect the longest one seen."""
        self.trial_s = max(self.trial_s if self.measured else 0.0, seconds)
        self.measured = True
