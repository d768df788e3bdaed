"""Measure what one trial of a graph costs, on the trial's own resources: a few real training iterations.

The training config is built exactly as a trial builds it (the search's :class:`~necksearch.train.recipe.Recipe`
at its fidelity), and the detector, its data loaders and its optimizer are built with mmengine's own builders; then a
few iterations of ``model.train_step`` (forward, loss, backward, optimizer step: what mmengine's loop does) and of
``model.val_step`` are timed after a warm-up. mmengine's Runner is not used: building it (loggers, hooks, work
directory) would cost more than the measurement and write files. Each calibration runs as a Ray task with the
trial's CPUs and GPUs, so it runs on the node and device a trial gets, and calibrations that run side by side
share the machine as concurrent trials do.
"""
from __future__ import annotations

import itertools
import statistics
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Sequence, Tuple

if TYPE_CHECKING:
    from necksearch.search.core.settings import Resources, SearchSettings
    from necksearch.train.recipe import Recipe

#: Iterations timed per graph after the warm-up ones (the first iterations pay for lazy initialisation); a sampled
#: trial times as many for the space's ``max_train_cost`` (``engine.hooks.TrainCostBoundHook``), whose reference this
#: measures too.
TRAIN_ITERATIONS = 5
WARMUP_ITERATIONS = 1
VAL_ITERATIONS = 2


def calibrate_graphs(settings: "SearchSettings", recipe: "Recipe", graphs: Sequence[Tuple[str, Dict[str, Any]]]
                     ) -> Dict[str, Dict[str, float]]:
    """Name → measured cost of each graph (a dict of :func:`calibrate_graph`), in one process: the first pays
    for the imports as a fresh trial process does (``import_s``, measured once and given to every graph)."""
    import_s = prepare_process(settings.resources)
    return {name: {**calibrate_graph(settings, recipe, graph), "import_s": import_s} for name, graph in graphs}


def prepare_process(resources: "Resources") -> float:
    """Import and register what a trial's process does, with its thread count; the seconds it took."""
    start = time.perf_counter()
    import torch

    import necksearch.mmdet  # noqa: F401 - registers the detector parts
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    torch.set_num_threads(resources.threads)
    return time.perf_counter() - start


def calibrate_graph(settings: "SearchSettings", recipe: "Recipe", graph: Dict[str, Any]) -> Dict[str, float]:
    """Seconds to set a trial up (``setup_s``: config, detector, loaders, optimizer), per training iteration (wall,
    and the process's CPU-seconds: ``train_cpu_s_per_iter``, what ``max_train_cost`` bounds on CPU) and
    per validation iteration, the iterations of one epoch (``train_iters``, ``val_iters``), and the bytes of one
    epoch's checkpoint (``checkpoint_bytes``; a trial keeps one per epoch)."""
    import torch
    start = time.perf_counter()
    model, train_loader, val_loader, optim_wrapper = trial_parts(settings, recipe, graph)
    setup_s = time.perf_counter() - start
    model.train()
    on_gpu = next(model.parameters()).is_cuda
    sync = torch.cuda.synchronize if on_gpu else (lambda: None)  # the GPU's work done, as a trial's loss logging waits
    train_s, train_cpu_s = _time_steps(lambda batch: model.train_step(batch, optim_wrapper), train_loader,
                                       TRAIN_ITERATIONS, sync)
    model.eval()
    with torch.no_grad():
        val_s, _ = _time_steps(model.val_step, val_loader, VAL_ITERATIONS, sync)
    return {"setup_s": setup_s, "train_s_per_iter": train_s, "train_cpu_s_per_iter": train_cpu_s,
            "val_s_per_iter": val_s,
            "train_iters": len(train_loader), "val_iters": len(val_loader),
            "checkpoint_bytes": _checkpoint_bytes(model, optim_wrapper)}


def _checkpoint_bytes(model: Any, optim_wrapper: Any) -> int:
    """Bytes of what an epoch checkpoint holds: the model's state and the optimizer's (after a few steps)."""
    import torch
    tensors = list(model.state_dict().values())
    tensors += [value for state in optim_wrapper.optimizer.state.values() for value in state.values()
                if isinstance(value, torch.Tensor)]
    return int(sum(tensor.numel() * tensor.element_size() for tensor in tensors))


def trial_parts(settings: "SearchSettings", recipe: "Recipe", graph: Dict[str, Any]) -> Tuple[Any, Any, Any, Any]:
    """(detector on its device, train loader, val loader, optimizer wrapper) of a trial of ``graph`` (its dict form),
    from the trial's own config; the detector freshly initialised with the trial's seed. Nothing is written."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    from necksearch.graph import NeckGraph
    cfg = recipe.training_config(NeckGraph.from_dict(graph, source="calibration"),
                                 work_dir=settings.run_dir / "trials")
    torch.manual_seed(recipe.seed)  # the trial's initialisation (mmengine seeds the same way per trial)
    model = MODELS.build(cfg.model)
    model.init_weights()
    if settings.gpus_per_trial > 0 and torch.cuda.is_available():
        model = model.cuda()
    train_loader = Runner.build_dataloader(dict(cfg.train_dataloader, num_workers=0, persistent_workers=False),
                                           seed=recipe.seed)
    val_loader = Runner.build_dataloader(dict(cfg.val_dataloader, num_workers=0, persistent_workers=False))
    return model, train_loader, val_loader, build_optim_wrapper(model, cfg.optim_wrapper)


def _time_steps(step, loader, iterations: int, sync: Callable[[], None]) -> Tuple[float, float]:
    """Mean wall seconds (what an estimate adds up) and median CPU-seconds of this process (what ``max_train_cost``
    judges a trial by: ``TrainCostBoundHook``; data loading included, the loaders here load in this process) of
    ``step(batch)`` over ``iterations`` batches after the warm-up ones (the loader cycles), ``sync()`` after each (a
    GPU's queued work finished)."""
    batches = itertools.cycle(loader) if len(loader) < WARMUP_ITERATIONS + iterations else iter(loader)
    for _ in range(WARMUP_ITERATIONS):
        step(next(batches))
    sync()
    start, cpu_seconds = time.perf_counter(), []
    for _ in range(iterations):
        cpu_start = time.process_time()
        step(next(batches))
        sync()
        cpu_seconds.append(time.process_time() - cpu_start)
    return (time.perf_counter() - start) / iterations, statistics.median(cpu_seconds)


def calibrate_on_cluster(settings: "SearchSettings", recipe: "Recipe", graphs: Sequence[Tuple[str, Dict[str, Any]]],
                         concurrency: int) -> Dict[str, Dict[str, float]]:
    """Calibrate ``graphs`` as Ray tasks with the trial's resources, ``concurrency`` at once (as trials run)."""
    return spread_on_cluster(calibrate_graphs, settings, graphs, concurrency, recipe)


def spread_on_cluster(function: Any, settings: "SearchSettings", graphs: Sequence[Tuple[str, Any]],
                      concurrency: int, *args: Any) -> Dict[str, Any]:
    """Name → result of ``function(settings, *args, share)`` (a name → result dict per share), the graphs dealt into
    ``concurrency`` shares run as Ray tasks with the trial's CPUs and GPUs; results in the graphs' order."""
    import ray
    task = ray.remote(**settings.resources.ray_options())(function)
    shares = [list(graphs[i::concurrency]) for i in range(concurrency)]
    results: Dict[str, Any] = {}
    for result in ray.get([task.remote(settings, *args, share) for share in shares if share]):
        results.update(result)
    return {name: results[name] for name, _ in graphs}
