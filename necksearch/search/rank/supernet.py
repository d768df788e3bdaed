"""Train a weight-sharing supernet once and rank graphs by their accuracy with inherited weights (SPOS).

* :func:`train_supernet` trains a :class:`~necksearch.nn.super_neck.SuperNeck` of one template inside the trial's
  own detector, config, data and fidelity (the search's :class:`~necksearch.train.recipe.Recipe` with the neck
  replaced), one uniform path
  per iteration, with mmengine's Runner: epoch checkpoints in ``WORK_DIR``, a killed training continues from its
  last epoch. It runs as a Ray task with the trial's CPUs and GPUs and Ray's retries
  (``supernet_screen.train_templates``). ``supernet.json`` in the work directory records what the weights belong to
  (space file and content, template, candidate set, the recipe's config file and resolved content — data root
  included —, fidelity, seed, the sharing scheme); a resume against anything else is refused naming both.
* :class:`SubnetScorer` loads the trained supernet once, then scores paths: the path is made active, the
  BatchNorm statistics of its candidates are recomputed on a few training batches (as SPOS does before
  evaluating a path: statistics shared by all paths fit none of them), and the detector is evaluated on the validation set with mmengine's
  evaluator (COCO bbox mAP, as a trial's).
"""
from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Sequence, Tuple

from necksearch.errors import NeckSearchError
from necksearch.files import file_sha256

if TYPE_CHECKING:
    from necksearch.search.core.settings import SearchSettings
    from necksearch.train.recipe import Recipe

IDENTITY_FILE = "supernet.json"
#: How candidates share weights (``nn.super_neck``): part of what a checkpoint belongs to.
SHARING = "choice blocks; equal shapes tied within a position, op and block"
#: Training batches the BatchNorm statistics of a path are recomputed on before it is scored.
BN_BATCHES = 4


def supernet_dir(run_dir: Path, template: str) -> Path:
    return Path(run_dir) / "supernet" / template


def identity(settings: "SearchSettings", recipe: "Recipe", template: str, epochs: int,
             candidates: Any) -> Dict[str, Any]:
    """What a supernet's weights belong to: the space (by content), template, its candidates, the recipe (its
    resolved config by content, data root included), fidelity, seed."""
    return {"space": settings.space, "space_sha256": file_sha256(settings.space), "template": template,
            "candidates": candidates.digest, "config": recipe.source, "recipe_sha256": recipe.digest,
            "epochs": int(epochs), "image_size": recipe.fidelity.image_size,
            "data_fraction": recipe.fidelity.data_fraction,
            "seed": recipe.seed, "sharing": SHARING}


def check_identity(work_dir: Path, wanted: Mapping[str, Any]) -> None:
    """Record ``wanted`` in a new work directory; refuse one whose supernet belongs to something else."""
    from necksearch.files import write_text_atomic
    path = work_dir / IDENTITY_FILE
    if not path.is_file():
        work_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(wanted, indent=2) + "\n")
        return
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise NeckSearchError(f"{path}: not a supernet record ({err}); move it away to train afresh") from None
    differ = [key for key in wanted if stored.get(key) != wanted[key]]
    if differ:
        both = "; ".join(f"{key}: checkpoint {stored.get(key)!r}, now {wanted[key]!r}" for key in differ)
        raise NeckSearchError(f"{work_dir}: the supernet checkpoint there was trained for another space or recipe "
                              f"({both}); use another run name or move it away")


def supernet_config(settings: "SearchSettings", recipe: "Recipe", template: str, work_dir: Path, epochs: int,
                    resume: bool = False):
    """The trial's training config (the search's recipe: config, data, fidelity, seed) for ``epochs`` with the
    template's SuperNeck as the neck. Refused (``NeckSearchError`` naming both) before anything is written if
    ``work_dir`` holds another supernet."""
    from necksearch.mmdet.config import pad_size_divisor
    from necksearch.space import load_space
    from necksearch.space.single_path import one_template, reference_graph, template_candidates
    space = one_template(load_space(settings.space), template)
    reference = reference_graph(space, recipe.seed)
    cfg = recipe.training_config(reference, work_dir=work_dir, epochs=epochs, resume=resume,  # writes nothing
                                 keep_checkpoints=1)  # ~130 MB each at width 64: the last one resumes
    neck = cfg.model.neck
    widths = dict(zip(reference.inputs, neck["in_channels"]))
    candidates = template_candidates(settings.space, template, neck["out_channels"], widths, recipe.seed)
    check_identity(work_dir, identity(settings, recipe, template, epochs, candidates))
    preprocessor = cfg.model.setdefault("data_preprocessor", {})
    divisors = [pad_size_divisor(graph, neck["in_channels"]) for graph in candidates.witnesses()]
    preprocessor["pad_size_divisor"] = max([preprocessor.get("pad_size_divisor", 1), *divisors])
    cfg.model.neck = dict(type="SuperNeck", space=settings.space, template=template,
                          in_channels=list(neck["in_channels"]), out_channels=neck["out_channels"],
                          seed=recipe.seed, reference=reference.to_dict())
    return cfg


def train_supernet(settings: "SearchSettings", recipe: "Recipe", template: str, run_dir: Path,
                   epochs: int) -> Dict[str, Any]:
    """Train (or continue) the supernet of ``template``; its work directory, checkpoint and CPU-seconds."""
    import sys

    import torch

    from necksearch.search.cost.calibrate import prepare_process
    from necksearch.train.runner import run_config
    prepare_process(settings.resources)
    work_dir = supernet_dir(run_dir, template)
    start = time.process_time()
    cfg = supernet_config(settings, recipe, template, work_dir, epochs,
                          resume=(work_dir / "last_checkpoint").is_file())
    training = _finished(work_dir, epochs) is None
    if training:
        if settings.gpus_per_trial <= 0:
            cfg.env_cfg = dict(cfg.get("env_cfg", {}), cudnn_benchmark=False)
        with contextlib.redirect_stdout(sys.stderr):
            run_config(cfg)
    timing = _timing(work_dir, time.process_time() - start if training else 0.0, torch.get_num_threads())
    return {"work_dir": str(work_dir), "checkpoint": str(_finished(work_dir, epochs)), **timing}


def _finished(work_dir: Path, epochs: int) -> Optional[Path]:
    """The checkpoint of the last epoch, if the training got there."""
    path = work_dir / f"epoch_{epochs}.pth"
    return path if path.is_file() else None


def _timing(work_dir: Path, cpu_seconds: float, threads: int) -> Dict[str, Any]:
    """CPU-seconds of the training (the process's CPU time, all its threads): this session's, added to what earlier
    sessions recorded (a resume)."""
    path = work_dir / "timing.json"
    earlier = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"cpu_seconds": 0.0}
    total = {"cpu_seconds": earlier["cpu_seconds"] + cpu_seconds, "threads": threads}
    path.write_text(json.dumps(total) + "\n", encoding="utf-8")
    return total


# ---------------------------------------------------------------------------------------------- scoring


class SubnetScorer:
    """A trained supernet in its detector, with the training and validation data, scoring one path at a time."""

    def __init__(self, settings: "SearchSettings", recipe: "Recipe", template: str, run_dir: Path,
                 epochs: int) -> None:
        import torch
        from mmdet.registry import MODELS
        from mmengine.runner import Runner

        from necksearch.mmdet.checkpoint import load_local
        from necksearch.search.cost.calibrate import prepare_process
        prepare_process(settings.resources)
        work_dir = supernet_dir(run_dir, template)
        cfg = supernet_config(settings, recipe, template, work_dir, epochs)
        checkpoint = _finished(work_dir, epochs)
        if checkpoint is None:
            raise NeckSearchError(f"{work_dir}: the supernet has not finished its {epochs} epochs of training")
        self.model = MODELS.build(cfg.model)
        self.model.load_state_dict(load_local(str(checkpoint), map_location="cpu")["state_dict"])
        if settings.gpus_per_trial > 0 and torch.cuda.is_available():
            self.model = self.model.cuda()
        self.model.eval()
        self.neck = self.model.neck
        self.neck.sample_paths = False
        loader = dict(cfg.train_dataloader, num_workers=0, persistent_workers=False)
        self.train_loader = Runner.build_dataloader(loader, seed=recipe.seed)
        self.val_loader = Runner.build_dataloader(dict(cfg.val_dataloader, num_workers=0, persistent_workers=False))
        self.evaluator = _evaluator(cfg)
        self.evaluator.dataset_meta = self.val_loader.dataset.metainfo

    def score(self, graph: Dict[str, Any]) -> Dict[str, float]:
        """COCO bbox mAP on the validation set of ``graph`` (a point of the space, in the dict form a Ray call
        carries) with inherited weights, the path's neck parameters (those of its stand-alone GraphNeck), and the
        wall and CPU seconds the scoring took."""
        from necksearch.graph import NeckGraph
        start, cpu_start = time.perf_counter(), time.process_time()
        self.neck.set_path(NeckGraph.from_dict(graph, source="supernet path"))
        self._recalibrate_batchnorm()
        mean_ap = validation_map(self.model, self.val_loader, self.evaluator)
        params = sum(p.numel() for module in self.neck.path_modules().values() for p in module.parameters())
        return {"bbox_mAP": mean_ap, "params": float(params),
                "seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu_start}

    def _recalibrate_batchnorm(self) -> None:
        """Running statistics of the path's BatchNorms recomputed (cumulative mean) on :data:`BN_BATCHES` batches."""
        import torch
        from torch.nn.modules.batchnorm import _BatchNorm
        norms = [m for module in self.neck.path_modules().values() for m in module.modules()
                 if isinstance(m, _BatchNorm) and m.track_running_stats]
        if not norms:
            return
        momenta = [m.momentum for m in norms]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None
        self.neck.train()
        with torch.no_grad():
            for batch, _ in zip(self.train_loader, range(BN_BATCHES)):
                inputs = self.model.data_preprocessor(batch, True)["inputs"]
                self.neck(self.model.backbone(inputs))
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        self.neck.eval()


def validation_map(model: Any, val_loader: Any, evaluator: Any) -> float:
    """COCO bbox mAP of ``model`` (put in eval mode) on ``val_loader`` with ``evaluator``: a trial's metric."""
    import torch
    model.eval()
    with torch.no_grad():
        for batch in val_loader:
            evaluator.process(data_samples=model.val_step(batch), data_batch=batch)
    with contextlib.redirect_stdout(io.StringIO()):
        return float(evaluator.evaluate(len(val_loader.dataset))["coco/bbox_mAP"])


def _evaluator(cfg: Any) -> Any:
    from mmengine.evaluator import Evaluator
    from mmengine.registry import METRICS
    metrics = cfg.val_evaluator if isinstance(cfg.val_evaluator, (list, tuple)) else [cfg.val_evaluator]
    return Evaluator([METRICS.build(metric) for metric in metrics])


def score_paths(settings: "SearchSettings", recipe: "Recipe", template: str, run_dir: Path, epochs: int,
                graphs: Sequence[Tuple[str, Dict[str, Any]]]) -> Dict[str, Dict[str, float]]:
    """Name → :meth:`SubnetScorer.score` for each graph (dict form), in one process; the first graph's
    ``setup_cpu_s`` is the CPU time of loading the supernet (the others' 0)."""
    start = time.process_time()
    scorer = SubnetScorer(settings, recipe, template, run_dir, epochs)
    setup_cpu_s = time.process_time() - start
    return {name: {**scorer.score(graph), "setup_cpu_s": setup_cpu_s if index == 0 else 0.0}
            for index, (name, graph) in enumerate(graphs)}


def score_paths_on_cluster(settings: "SearchSettings", recipe: "Recipe", template: str, run_dir: Path, epochs: int,
                     graphs: Sequence[Tuple[str, Dict[str, Any]]], concurrency: int) -> Dict[str, Dict[str, float]]:
    """:func:`score_paths` as ``concurrency`` Ray tasks with the trial's resources, each loading the supernet once."""
    from necksearch.search.cost.calibrate import spread_on_cluster
    return spread_on_cluster(score_paths, settings, graphs, concurrency, recipe, template, Path(run_dir), epochs)
