"""A training recipe: the base MMDetection config, the data root and the fidelity, resolved once.

Resolving reads the config file with its ``_base_`` files (mmengine), checks the config's own neck graph
against its backbone, points every dataset at the data root (the embedded dataset is generated on first use),
checks the annotation files and fits the classes, their count and the metric to them
(:mod:`necksearch.train.dataset`), and checks the fidelity. What comes out is plain data — the merged config as
mmengine Python text plus the fidelity — so it pickles into Ray tasks and Tune trials, and a search keeps it as
``RUN_DIR/recipe.py``: calibration, screening, the supernet, every trial and the export of the best graph build
their configs from that one resolution, and an edit of the base config file during a search (or between its
sessions) changes nothing in the search. ``necksearch train`` resolves one for its single training.

Every user mistake (config path, data root, annotation files, a graph that does not fit the backbone, a fidelity
out of range) raises :class:`~necksearch.errors.NeckSearchError` naming it.
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence, Union

from necksearch.errors import NeckSearchError
from necksearch.files import write_text_atomic
from necksearch.train.fidelity import Fidelity

if TYPE_CHECKING:
    from necksearch.graph import NeckGraph
    from necksearch.graph.presets import GraphSpec

#: The run-directory file a search keeps its resolved base config in.
RECIPE_FILE = "recipe.py"
#: Hooks every training gets (the seed's data order per epoch, the neck-scale guard, the per-epoch metrics).
_OWN_HOOKS = ("NeckSearchMetricsHook", "EpochReseedHook", "NeckScaleHook")
_HEADER = "# necksearch recipe, resolved from "


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A resolved base config (``base``: mmengine Python text, data root absolute, at the config's own full
    fidelity; ``source``: the file it was read from), the fidelity trainings run at (a part ``None``: the config's)
    and their seed."""

    base: str
    source: str
    fidelity: Fidelity = Fidelity()
    seed: int = 0

    @classmethod
    def resolve(cls, config: Union[str, Path, None] = None, *, data_root: Optional[Union[str, Path]] = None,
                fidelity: Fidelity = Fidelity(), seed: int = 0) -> "Recipe":
        """Read ``config`` (a path, a name under ``configs/``, ``None``: the default proxy), check it and the data,
        and check the fidelity once by building a training config from it."""
        from necksearch.train.configs import load_config, resolve_config_path, set_data_root, set_graph
        path = resolve_config_path(config)
        cfg = load_config(path)
        set_graph(cfg, None)
        set_data_root(cfg, data_root)
        recipe = cls(base=cfg.pretty_text, source=str(path.resolve()), fidelity=fidelity, seed=seed)
        recipe.training_config(None, work_dir=Path("runs") / "train")  # the fidelity's checks, nothing written
        return recipe

    @classmethod
    def load(cls, run_dir: Union[str, Path], fidelity: Fidelity = Fidelity(), seed: int = 0) -> "Recipe":
        """The recipe a search kept in ``run_dir`` (:data:`RECIPE_FILE`), at ``fidelity`` and ``seed`` (the search's)."""
        path = Path(run_dir) / RECIPE_FILE
        try:
            header, _, base = path.read_text(encoding="utf-8").partition("\n")
        except (OSError, UnicodeDecodeError) as err:
            raise NeckSearchError(f"{path}: cannot read the search's recipe ({err})") from None
        if not header.startswith(_HEADER):
            raise NeckSearchError(f"{path}: not a recipe written by necksearch (its first line should start "
                                  f"{_HEADER.strip()!r}); move it away to resolve the recipe afresh")
        return cls(base=base, source=header[len(_HEADER):], fidelity=fidelity, seed=seed)

    def save(self, run_dir: Union[str, Path]) -> Path:
        """Write the resolved base config to ``run_dir``/:data:`RECIPE_FILE` (a config mmengine reads as it is,
        under a one-line header naming the file it came from)."""
        path = Path(run_dir) / RECIPE_FILE
        write_text_atomic(path, f"{_HEADER}{self.source}\n{self.base}")
        return path

    @property
    def digest(self) -> str:
        """SHA-256 of the resolved base config (data root included; the fidelity is not: a supernet's identity
        lists the parts of it that it trains at)."""
        return hashlib.sha256(self.base.encode("utf-8")).hexdigest()

    def config(self, graph: Optional["NeckGraph"] = None):
        """The base config at full fidelity, with ``graph`` as its neck (and the detector-level parts that follow
        from it) when given: what the export of a search's best graph writes."""
        from mmengine.config import Config

        from necksearch.train.configs import set_graph
        parsed = Config.fromstring(self.base, file_format=".py")
        # named after the config it was resolved from, not fromstring's temporary file: mmengine's Runner dumps the
        # config it runs into the work directory under this name
        cfg = Config(parsed.to_dict(), cfg_text=self.base, filename=Path(self.source).name)
        set_graph(cfg, graph)
        return cfg

    def training_config(self, graph: Optional["NeckGraph"], *, work_dir: Union[str, Path], resume: bool = False,
                        epochs: Optional[int] = None, extra_hooks: Sequence[dict] = (),
                        keep_checkpoints: Optional[int] = None):
        """The mmengine ``Config`` a training of ``graph`` (``None``: the config's own) runs at this fidelity
        (``epochs`` overrides the recipe's: the supernet trains longer), in ``work_dir``; every check done.
        ``keep_checkpoints``: how many epoch checkpoints stay (``None``: all; a resume needs only the last)."""
        from necksearch.train.configs import HOOK_MODULE, set_epochs, set_fidelity
        cfg = self.config(graph)
        epochs = self.fidelity.epochs if epochs is None else epochs
        if epochs is not None:
            set_epochs(cfg, epochs)
        if self.seed < 0:
            raise NeckSearchError(f"--seed must be at least 0, got {self.seed}")
        set_fidelity(cfg, self.fidelity)
        imports = dict(cfg.get("custom_imports", {}) or {})
        modules = list(imports.get("imports", []))
        modules += [module for module in ("necksearch.mmdet", HOOK_MODULE) if module not in modules]
        cfg.custom_imports = dict(imports=modules, allow_failed_imports=False)
        cfg.work_dir = str(work_dir)
        cfg.randomness = dict(seed=int(self.seed), deterministic=True)
        cfg.train_dataloader.setdefault("sampler", dict(type="DefaultSampler", shuffle=True))["seed"] = int(self.seed)
        cfg.resume = bool(resume)
        cfg.load_from = None
        cfg.train_cfg["val_interval"] = 1
        hooks = [hook for hook in cfg.get("custom_hooks", []) or [] if hook.get("type") not in _OWN_HOOKS]
        cfg.custom_hooks = hooks + [dict(type="EpochReseedHook", seed=int(self.seed)), dict(type="NeckScaleHook"),
                                    dict(type="NeckSearchMetricsHook"), *map(dict, extra_hooks)]
        cfg.default_hooks["checkpoint"] = dict(type="CheckpointHook", interval=1, by_epoch=True,
                                               max_keep_ckpts=keep_checkpoints or -1)
        cfg.default_scope = "mmdet"
        return cfg


def build_train_config(config: Union[str, Path, None] = None, *, graph: Optional["GraphSpec"] = None,
                       epochs: Optional[int] = None, work_dir: Optional[Union[str, Path]] = None,
                       resume: bool = False, data_root: Optional[Union[str, Path]] = None, seed: int = 0,
                       image_size: Optional[int] = None, data_fraction: Optional[float] = None,
                       extra_hooks: Sequence[dict] = ()):
    """The mmengine ``Config`` of one training (``necksearch train``, :func:`necksearch.train.train`): a recipe
    resolved for it, with ``graph`` (a NeckGraph, its dict, a preset name or a graph file; ``None``: the config's
    own); ``work_dir`` defaults to ``runs/train/CONFIG__GRAPH``."""
    from necksearch.graph.presets import resolve_graph
    graph = None if graph is None else resolve_graph(graph)
    recipe = Recipe.resolve(config, data_root=data_root, fidelity=Fidelity(epochs, image_size, data_fraction),
                            seed=seed)
    if work_dir is None:
        from necksearch.train.configs import config_graph
        name = (graph or config_graph(recipe.config())).name
        work_dir = Path("runs") / "train" / f"{Path(recipe.source).stem}__{name}"
    return recipe.training_config(graph, work_dir=work_dir, resume=resume, extra_hooks=extra_hooks)
