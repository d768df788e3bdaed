"""Live progress of a search: one line per event, with elapsed time and the tally (a Tune ``Callback``).

    [  1:32] trial 2 a2fpn_lite (fixed point) started
    [  3:05] trial 2 a2fpn_lite  epoch 1/3  mAP 0.0041  loss 1.93   [2 running, 1 finished of 6]
    [  3:06] trial 1 pafpn  pruned after epoch 1 (mAP 0.0012)
    [  4:10] trial 7 trial-7 refused: max_train_cost: 3.10 cpu s per training iteration (median of 5) > ...

A confirmation trains several seeds in one run, so its lines name each trial's seed (``trial 12 fpn seed 1``).
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from ray.tune import Callback


class SearchProgress(Callback):
    """Prints search events through ``write`` (default: stdout, flushed); ``show_seed``: name each trial's seed."""

    def __init__(self, total: int, epochs: int, write: Optional[Callable[[str], None]] = None,
                 run_dir: Optional[Path] = None, show_seed: bool = False) -> None:
        self.total, self.epochs, self.run_dir, self.show_seed = total, epochs, run_dir, show_seed
        self.write = write or _print
        self.start = time.monotonic()
        self.running = 0
        self.finished = 0
        self.last_epoch: Dict[str, int] = {}

    def line(self, text: str) -> None:
        minutes, seconds = divmod(int(time.monotonic() - self.start), 60)
        self.write(f"[{minutes:3d}:{seconds:02d}] {text}")

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info) -> None:
        self.running += 1
        self.line(f"{self._name(trial)} started")

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: Dict, **info) -> None:
        if "epoch" not in result:
            return  # a refusal's report (trainable.report_refusal): its line comes when the trial ends
        epoch = self.last_epoch[trial.trial_id] = int(result["epoch"])
        tally = f"[{self.running} running, {self.finished} finished of {self.total}]"
        self.line(f"{self._name(trial)}  epoch {epoch}/{self.epochs}  mAP {_num(result.get('map'))}"
                  f"  loss {_num(result.get('loss'), 3)}   {tally}")

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info) -> None:
        self._finish()
        refusal = self._refusal(trial)
        if refusal:  # the trainable ends a refused trial without an error (trainable.train_trial)
            self.line(f"{self._name(trial)} refused: {refusal}")
            return
        epoch = self.last_epoch.get(trial.trial_id, 0)
        verdict = "finished" if epoch >= self.epochs else f"pruned after epoch {epoch}"
        self.line(f"{self._name(trial)} {verdict} (mAP {_num((trial.last_result or {}).get('map'))})")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info) -> None:
        self._finish()
        self.line(f"{self._name(trial)} failed after its retries (reason recorded in the study)")

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info) -> None:
        self.running = max(0, self.running - 1)  # its retry is a new start (``on_trial_start``)
        self.line(f"{self._name(trial)} failed; retrying from its last checkpoint")

    def _refusal(self, trial: Any) -> Optional[str]:
        """The space's ``max_train_cost`` refusal the trial's process recorded, if that is why it ended."""
        from necksearch.search.engine.trainable import cost_refusal, trial_dir
        number = trial.config.get("trial", {}).get("number")
        if self.run_dir is None or number is None:
            return None
        return cost_refusal(trial_dir(self.run_dir, number))

    def _name(self, trial: Any) -> str:
        info = trial.config.get("trial", {})
        name = f"trial {info.get('number', '?')} {info.get('graph', {}).get('name', '?')}"
        return f"{name} seed {info.get('seed', '?')}" if self.show_seed else name

    def _finish(self) -> None:
        self.running = max(0, self.running - 1)
        self.finished += 1


def _num(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and math.isfinite(value) else "-"


def _print(text: str) -> None:
    print(text, file=sys.stdout, flush=True)
