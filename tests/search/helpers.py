"""Running small searches from the search tests: the CLI in a subprocess, and reading the study back."""
from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import optuna

#: The fidelity of every test search: a few seconds per epoch on the tiny dataset (tests/search/conftest.py), half
#: of its 16 training images (the default search's full data would only make the tests slower).
TINY = ["--image-size", "64", "--data-fraction", "0.5", "--cpus-per-trial", "1"]


def search_args(name: str, runs_dir: Path, data_root: Path, *extra: str) -> List[str]:
    return [sys.executable, "-m", "necksearch", "search", "--name", name, "--runs-dir", str(runs_dir),
            "--data-root", str(data_root), *TINY, *extra]


def run_search(name: str, runs_dir: Path, data_root: Path, *extra: str, timeout: int = 900,
               env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """``necksearch search`` to the end (``env``: its environment, default ours); fails the test with its output
    when it does not exit 0."""
    done = subprocess.run(search_args(name, runs_dir, data_root, *extra), capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert done.returncode == 0, f"search exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def load_trials(run_dir: Path, name: str) -> Sequence[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{run_dir / 'study.db'}")
    return study.get_trials(deepcopy=False)


def study_with(*trials) -> optuna.Study:
    """An in-memory maximising study holding ``trials`` (``optuna.trial.create_trial`` results), numbered in order."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    for trial in trials:
        study.add_trial(trial)
    return study


def stored_search_run(tmp_path, *values) -> Path:
    """A run directory with search settings and a study of sampled trials (random draws of the default space)
    with ``values`` at the search's fidelity."""
    from necksearch.search.core import study as attrs
    from necksearch.search.core.settings import SearchSettings
    from necksearch.space import load_space
    settings = SearchSettings(name="run", runs_dir=str(tmp_path), num_trials=len(values)).checked()
    settings.save()
    study = optuna.create_study(study_name="run", storage=f"sqlite:///{settings.run_dir / 'study.db'}",
                                direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    space = load_space(settings.space)
    for value in values:
        trial = study.ask()
        trial.set_user_attr(attrs.GRAPH_HASH, space.freeze(space.suggest(trial)).canonical_hash())
        trial.set_user_attr(attrs.FIDELITY, settings.fidelity())
        study.tell(trial, value)
    return settings.run_dir


def by_fixed_point(trials) -> dict:
    return {t.user_attrs.get("fixed_point"): t for t in trials if t.user_attrs.get("fixed_point")}


class RayStarted(AssertionError):
    """Raised by the ``no_ray`` fixture's stand-in for ``engine.run.start_ray``: the command got past every check."""


def cli_error(capsys, *argv) -> str:
    """Run ``necksearch ARGV``; assert status 2 and exactly one error line, no traceback; return the line."""
    from necksearch.cli import main
    status = main([str(arg) for arg in argv])
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("necksearch: error: ") and "Traceback" not in err, err
    return lines[0]


@contextlib.contextmanager
def optuna_info_messages() -> Iterator[List[str]]:
    """The messages Optuna logs inside the block with its verbosity at INFO, which the block must leave at INFO."""
    messages: List[str] = []

    class Records(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger, records = logging.getLogger("optuna"), Records(logging.DEBUG)
    level = optuna.logging.get_verbosity()
    logger.addHandler(records)
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        yield messages
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        logger.removeHandler(records)
        optuna.logging.set_verbosity(level)
