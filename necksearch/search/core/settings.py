"""What a search is asked to do: :class:`SearchSettings`, checked once, stored as ``RUN_DIR/search.json``.

Everything here is plain data (no Ray, no Optuna, no torch), so a run directory can be read and a
bad option reported before any heavy import. ``--resume`` reads the stored settings back.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from necksearch.errors import NeckSearchError
from necksearch.files import write_text_atomic
from necksearch.search.core.rankers import Screen, parse_screen
from necksearch.train.fidelity import Fidelity

if TYPE_CHECKING:
    from necksearch.train.recipe import Recipe

#: Objectives a search may optimise, with their direction (mAP first; the others are costs).
OBJECTIVES: Dict[str, str] = {"map": "max", "params": "min", "flops": "min", "latency": "min"}
SAMPLERS = ("tpe", "nsga2", "random")
SCHEDULERS = ("asha", "none")
RUNS_DIR = Path("runs") / "search"
SETTINGS_FILE = "search.json"
#: Settings ``--resume`` may change (every other one must match the stored run).
RESUMABLE = ("num_trials", "max_concurrent", "address", "retries", "max_hours", "max_trial_hours")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclasses.dataclass(frozen=True)
class Resources:
    """Where and how wide trials run: CPUs and GPUs per trial, trials at once, processes per trial (``workers``) and
    the Ray cluster to join (``address``; ``None``: a local instance). What Ray is asked for, in one value."""

    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent: int = 2
    workers: int = 1
    address: Optional[str] = None

    @property
    def threads(self) -> int:
        """Torch threads of a trial's process (at least 1)."""
        return max(1, int(self.cpus_per_trial))

    def ray_options(self) -> Dict[str, float]:
        """``ray.remote``'s resources for a task or actor that stands for one trial."""
        return {"num_cpus": self.cpus_per_trial, "num_gpus": self.gpus_per_trial}

    def tune_resources(self) -> Dict[str, float]:
        """``tune.with_resources``' resources for one trial (Tune spells them ``cpu``/``gpu``)."""
        return {"cpu": self.cpus_per_trial, "gpu": self.gpus_per_trial}


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """The options of ``necksearch search`` (see its ``--help``); paths are stored absolute. Frozen: a changed
    setting is a new object (``dataclasses.replace``), so what a search checked is what its trials get."""

    space: str = "default"
    name: Optional[str] = None
    runs_dir: str = str(RUNS_DIR)
    config: Optional[str] = None
    data_root: Optional[str] = None
    num_trials: int = 6
    max_concurrent: int = 2
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    epochs: int = 3
    #: Images resized to fit S×S; ``None``: the config's own size (full fidelity, ``necksearch reproduce``).
    image_size: Optional[int] = 128
    #: All 400 training images of the embedded data: measured, the published necks' seed-to-seed Kendall τ is
    #: 0.70 at full data against 0.68 at half, and fpn's mAP 0.255 against 0.146 (benchmarks/results/rank_fidelity.md).
    data_fraction: float = 1.0
    scheduler: str = "asha"
    grace_epochs: int = 1
    reduction_factor: int = 2
    #: ASHA stops a trial only this many measured seed stds of mAP below its rung's cutoff (``engine.scheduler``):
    #: 1 stopped a top-half graph in 4.7% of rung-1 sets instead of 16.5% (benchmarks/results/rung_noise.json).
    rung_margin: float = 1.0
    sampler: str = "tpe"
    objectives: Tuple[str, ...] = ("map",)
    storage: Optional[str] = None
    fixed_points: Optional[Tuple[str, ...]] = None
    seed: int = 0
    retries: int = 1
    address: Optional[str] = None
    #: Processes in one trial: >1 trains it with distributed data parallel (one per GPU, or gloo on CPU).
    workers: int = 1
    #: Budget of one session in hours: no trial starts whose expected end would pass it (``None``: no budget).
    max_hours: Optional[float] = None
    #: Budget of the whole run in hours of training, over every session, on the run's cost clock (CPU-hours or
    #: trial wall hours: ``cost.budget``; ``None``: no budget).
    max_trial_hours: Optional[float] = None
    #: ``SCORE:N``: score N graphs drawn from the space at initialisation and train the best by SCORE as the
    #: sampled trials (``rank/zero_cost.py``); ``None``: the sampler draws them.
    screen: Optional[str] = None
    #: With ``--screen supernet:N``: the template whose supernet screens (needed when the space has several) ...
    template: Optional[str] = None
    #: ... and the epochs it trains, at the search's image size and data fraction: 6 at the default's 400 images
    #: (batch 4) is 600 iterations, the budget judged in benchmarks/results/supernet.md (2× a trial's 300).
    supernet_epochs: int = 6

    # ------------------------------------------------------------------ derived

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / str(self.name)

    def recipe(self) -> "Recipe":
        """The search's :class:`~necksearch.train.recipe.Recipe` at its fidelity: the one its run directory keeps (a
        resumed search trains as it began), else resolved now from ``config`` and ``data_root`` (every check; the
        embedded dataset generated on first use)."""
        from necksearch.train.recipe import RECIPE_FILE, Recipe
        if (self.run_dir / RECIPE_FILE).is_file():
            return Recipe.load(self.run_dir, self.training_fidelity, self.seed)
        return Recipe.resolve(self.config, data_root=self.data_root, fidelity=self.training_fidelity, seed=self.seed)

    @property
    def resources(self) -> Resources:
        """``--cpus-per-trial``, ``--gpus-per-trial``, ``--max-concurrent``, ``--workers`` and ``--address``."""
        return Resources(self.cpus_per_trial, self.gpus_per_trial, self.max_concurrent, self.workers, self.address)

    @property
    def screening(self) -> Optional[Screen]:
        """``--screen`` parsed (checked when the settings were): the ranker and how many graphs, or ``None``."""
        return None if self.screen is None else parse_screen(self.screen)

    @property
    def training_fidelity(self) -> Fidelity:
        """``--epochs``, ``--image-size`` and ``--data-fraction`` as one value."""
        return Fidelity(self.epochs, self.image_size, self.data_fraction)

    @property
    def directions(self) -> Tuple[str, ...]:
        return tuple(OBJECTIVES[name] for name in self.objectives)

    @property
    def study_directions(self) -> Tuple[str, ...]:
        """The objectives' directions as Optuna names them (``maximize``/``minimize``)."""
        return tuple({"max": "maximize", "min": "minimize"}[direction] for direction in self.directions)

    def fidelity(self) -> Dict[str, Any]:
        """What one trial's number means: trials are comparable (and deduplicated) only at equal fidelity.
        ``workers`` appears only above 1 (N processes train with N× the config's batch), so that the
        fidelity of a single-process trial is what it always was."""
        fidelity = {**self.training_fidelity.as_dict(), "config": Path(self.config).name if self.config else None,
                    "seed": self.seed}
        if self.workers != 1:
            fidelity["workers"] = self.workers
        return fidelity

    # ------------------------------------------------------------------ checks

    def checked(self) -> "SearchSettings":
        """These settings with a name chosen and every value checked (``NeckSearchError`` names the option)."""
        if self.name is None:
            return dataclasses.replace(self, name=f"{Path(self.space).stem}-{time.strftime('%Y%m%d-%H%M%S')}").checked()
        check_name(self.name)
        at_least("--num-trials", self.num_trials, 1)
        at_least("--max-concurrent", self.max_concurrent, 1)
        self.training_fidelity.checked()
        at_least("--grace-epochs", self.grace_epochs, 1)
        at_least("--reduction-factor", self.reduction_factor, 2)
        if isinstance(self.rung_margin, bool) or not isinstance(self.rung_margin, (int, float)) or \
                not (math.isfinite(self.rung_margin) and self.rung_margin >= 0):
            raise NeckSearchError(f"--rung-margin must be a number of at least 0, got {self.rung_margin!r}")
        at_least("--retries", self.retries, 0)
        at_least("--seed", self.seed, 0)
        at_least("--supernet-epochs", self.supernet_epochs, 1)
        if not (math.isfinite(self.cpus_per_trial) and self.cpus_per_trial > 0):
            raise NeckSearchError(f"--cpus-per-trial must be positive, got {self.cpus_per_trial}")
        if not (math.isfinite(self.gpus_per_trial) and self.gpus_per_trial >= 0):
            raise NeckSearchError(f"--gpus-per-trial must be at least 0, got {self.gpus_per_trial}")
        _check_workers(self.workers, self.gpus_per_trial)
        for option, hours in (("--max-hours", self.max_hours), ("--max-trial-hours", self.max_trial_hours)):
            if hours is not None and not (isinstance(hours, (int, float)) and math.isfinite(hours) and hours > 0):
                raise NeckSearchError(f"{option} must be a positive number of hours, got {hours!r}")
        _one_of("--sampler", self.sampler, SAMPLERS)
        _one_of("--scheduler", self.scheduler, SCHEDULERS)
        objectives = parse_objectives(self.objectives)
        if self.screen is not None:
            parse_screen(self.screen)
        if self.sampler == "nsga2" and len(objectives) == 1:
            raise NeckSearchError("--sampler nsga2 needs several --objectives (e.g. map,params)")
        return self if objectives == self.objectives else dataclasses.replace(self, objectives=objectives)

    # ------------------------------------------------------------------ storage in the run directory

    def save(self) -> Path:
        path = self.run_dir / SETTINGS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, run_dir: Path) -> "SearchSettings":
        path = Path(run_dir) / SETTINGS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NeckSearchError(f"{run_dir} is not a search run directory (no {SETTINGS_FILE})") from None
        except (OSError, ValueError) as err:
            raise NeckSearchError(f"{path} is not a readable search settings file: {err}") from None
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known) if isinstance(data, dict) else []
        if not isinstance(data, dict) or unknown:
            raise NeckSearchError(f"{path}: not search settings" + (f" (unknown keys {', '.join(unknown)})" if unknown else ""))
        try:  # a file edited by hand: the same checks as the command line, naming the file
            return cls.from_dict(data).checked()
        except (NeckSearchError, TypeError) as err:
            raise NeckSearchError(f"{path}: {err}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SearchSettings":
        """The settings of ``dataclasses.asdict`` form (a stored file, a Tune trial's config): the frozen object
        every function of a search takes, rebuilt once at that edge."""
        return cls(**{**data, **_as_tuples(data)})

    def resumed_with(self, given: Dict[str, Any]) -> "SearchSettings":
        """The stored settings, with the options given again on the command line checked against them
        (``given`` normalised as the stored ones were: :func:`normalise`); those a resume may change, changed."""
        for key, value in given.items():
            if key not in RESUMABLE and _normal(value) != _normal(getattr(self, key)):
                raise NeckSearchError(f"--resume continues {self.run_dir} with its stored settings: "
                                      f"--{key.replace('_', '-')} {value!r} differs from the stored {getattr(self, key)!r}")
        return dataclasses.replace(self, **{key: value for key, value in given.items() if key in RESUMABLE})


def check_name(name: Any, option: str = "--name") -> None:
    """A run name is one path component: letters, digits, '.', '_', '-' (no separators, no '..')."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or set(name) == {"."}:
        raise NeckSearchError(f"{option} {name!r}: use letters, digits, '.', '_' or '-' (at most 100), "
                              "starting with a letter or digit")


def parse_objectives(value: Any) -> Tuple[str, ...]:
    """``"map,params"`` or a sequence → checked names, mAP first, no repeats."""
    names = tuple(part.strip() for part in (value.split(",") if isinstance(value, str) else value) if part.strip())
    for name in names:
        _one_of("--objectives", name, tuple(OBJECTIVES))
    if not names or names[0] != "map" or len(set(names)) != len(names):
        raise NeckSearchError(f"--objectives {','.join(names)!r}: start with map, then any of "
                              f"params, flops, latency, each once (e.g. map or map,params)")
    return names


def latest_run(runs_dir: Path) -> Path:
    """The most recently started run directory under ``runs_dir`` (for ``--resume`` without ``--name``)."""
    runs = sorted((p for p in Path(runs_dir).glob(f"*/{SETTINGS_FILE}")), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise NeckSearchError(f"--resume: no search run under {runs_dir} (give --name of the run to continue)")
    return runs[-1].parent


def load_run(run_dir: Any, command: str) -> SearchSettings:
    """The stored settings of the search in ``run_dir``, placed where that directory is now (it may have moved since
    the search ran); ``command`` names the option or command in the error when it is no directory."""
    path = Path(run_dir).expanduser().resolve()
    if not path.is_dir():
        raise NeckSearchError(f"{command}: {run_dir} is not a directory (give a search's run directory, RUNS_DIR/NAME)")
    return dataclasses.replace(SearchSettings.load(path), runs_dir=str(path.parent))


def at_least(option: str, value: Any, low: int) -> None:
    """``NeckSearchError`` naming ``option`` unless ``value`` is a number of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise NeckSearchError(f"{option} must be at least {low}, got {value!r}")


def _check_workers(workers: Any, gpus: float) -> None:
    """``workers`` is a whole number ≥ 1; with GPUs, one process per GPU (``gpus`` equal to ``workers``)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise NeckSearchError(f"--workers must be a whole number of at least 1, got {workers!r}")
    if workers > 1 and gpus > 0 and gpus != workers:
        raise NeckSearchError(f"--workers {workers}: a distributed trial runs one process per GPU, "
                              f"so it needs {workers} GPUs per trial, not {gpus:g}")


def _one_of(option: str, value: str, choices: Tuple[str, ...]) -> None:
    if value not in choices:
        raise NeckSearchError(f"{option}: unknown value {value!r}; choose from {', '.join(choices)}")


def _as_tuples(data: Mapping[str, Any]) -> Dict[str, Any]:
    """The sequence-valued settings of a stored (JSON) dict as the tuples the dataclass holds."""
    return {key: tuple(data[key]) for key in ("objectives", "fixed_points") if isinstance(data.get(key), list)}


def _normal(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, list)) else value


def normalise(settings: SearchSettings) -> SearchSettings:
    """Checked settings with every path absolute and resolved (a space or config name to its file), so
    that stored and given settings compare equal however they were spelled."""
    from necksearch.space import load_space
    from necksearch.train.configs import resolve_config_path
    settings = settings.checked()
    local_storage = settings.storage is not None and "://" not in settings.storage
    return dataclasses.replace(
        settings,
        space=str(Path(load_space(settings.space).source).resolve()),  # a space name or file, checked now
        config=str(resolve_config_path(settings.config).resolve()),
        runs_dir=str(Path(settings.runs_dir).expanduser().resolve()),
        data_root=None if settings.data_root is None else str(Path(settings.data_root).expanduser().resolve()),
        storage=str(Path(settings.storage).expanduser().resolve()) if local_storage else settings.storage)


def sampler_of(settings: SearchSettings) -> Any:
    """The Optuna sampler ``--sampler`` names, seeded by ``--seed``."""
    import optuna
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=settings.seed)
    if settings.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=settings.seed)
    # A handful of random trials first: the fixed points already seed the model.
    return optuna.samplers.TPESampler(seed=settings.seed, n_startup_trials=5)
