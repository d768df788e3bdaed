"""One trial trained by several processes: distributed data parallel inside a Tune trial.

``run_distributed`` (called by ``trainable._train`` when the settings ask ``workers`` > 1) spawns one
process per worker with ``torch.multiprocessing`` (``spawn``). Each runs the trial's mmengine config with
``launcher='pytorch'`` and ``RANK``/``LOCAL_RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT`` set:
NCCL with one GPU per rank (``LOCAL_RANK`` indexes the GPUs Ray gave the trial), or gloo on CPU.
mmengine's ``DefaultSampler`` shards the data across ranks; the batch per rank stays the config's.

Only rank 0 reports (``TrialReportHook``), and only to ``WORK_DIR/reports.jsonl``: the children have
no Tune session. This process, the Tune function, relays each new line to ``tune.report`` in order
while they run and after they end; a child that fails ends the others and its error is raised here.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional

if TYPE_CHECKING:
    from necksearch.search.core.settings import SearchSettings

#: Seconds between two looks at the children and at ``reports.jsonl``.
POLL_S = 2.0
#: Seconds a failed trial's other ranks get to end by themselves before they are terminated.
GRACE_S = 10.0
#: The model wrapper a CPU trial uses (mmengine's passes ``device_ids``, which DDP refuses for a CPU module).
CPU_WRAPPER = "NeckSearchCPUDistributedDataParallel"


class DistributedTrialError(RuntimeError):
    """A rank of a distributed trial failed; the message is the rank and its error, in one line."""


def run_distributed(cfg: Any, settings: "SearchSettings", work_dir: Path) -> None:
    """Train ``cfg`` with the trial's ``workers`` processes, relaying rank 0's reports to Tune."""
    import torch.multiprocessing as mp

    from necksearch.search.engine.hooks import NODE_ENV, REPORTS_FILE
    os.environ[NODE_ENV] = _with_node({})["node"] or ""  # spawned ranks inherit it: their reports name the node
    resources = settings.resources
    workers, on_gpu = int(resources.workers), float(resources.gpus_per_trial) > 0
    set_distributed(cfg, on_gpu)
    threads = max(1, resources.threads // workers)
    relay = ReportRelay(work_dir / REPORTS_FILE)
    context = mp.start_processes(rank_main, args=(workers, free_port(), cfg, threads, on_gpu),
                                 nprocs=workers, join=False, start_method="spawn")
    try:
        done = False
        while not done:
            try:
                done = _join(context, POLL_S)
            finally:  # a failed rank's last reports still reach the study (epochs reached)
                relay.forward()
    finally:
        _end(context)


def set_distributed(cfg: Any, on_gpu: bool) -> None:
    """Make a trial's config distributed: the pytorch launcher, NCCL or gloo, a CPU-capable DDP wrapper."""
    cfg.launcher = "pytorch"
    env_cfg = dict(cfg.get("env_cfg", {}) or {})
    env_cfg["dist_cfg"] = dict(env_cfg.get("dist_cfg", {}) or {}, backend="nccl" if on_gpu else "gloo")
    cfg.env_cfg = env_cfg
    if not on_gpu:
        cfg.model_wrapper_cfg = dict(type=CPU_WRAPPER, broadcast_buffers=False,
                                     find_unused_parameters=bool(cfg.get("find_unused_parameters", False)))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the rendezvous of the trial's processes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rank_env(rank: int, world: int, port: int) -> Dict[str, str]:
    """The environment of one rank (single node: the local rank is the rank)."""
    return {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}


def rank_main(rank: int, world: int, port: int, cfg: Any, threads: int, on_gpu: bool) -> None:
    """One rank (a spawned process): set up its environment and run the config with mmengine."""
    import torch
    import torch.distributed as dist
    from mmengine.utils import import_modules_from_strings

    from necksearch.train.runner import run_config
    os.environ.update(rank_env(rank, world, port))
    torch.set_num_threads(threads)
    import_modules_from_strings(**cfg.custom_imports)  # a config that was not read from its file imports nothing
    register_cpu_wrapper()
    if not on_gpu:  # mmengine's pytorch launcher calls torch.cuda.set_device, so on CPU the group starts here
        dist.init_process_group(backend="gloo", init_method="env://", rank=rank, world_size=world)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            run_config(cfg)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def register_cpu_wrapper() -> None:
    """Register ``CPU_WRAPPER``: mmengine's DDP wrapper without ``device_ids`` for a module on the CPU."""
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    class CPUDistributedDataParallel(MMDistributedDataParallel):
        def __init__(self, module, device_ids=None, **kwargs):
            on_cpu = all(not p.is_cuda for p in module.parameters())
            super().__init__(module=module, device_ids=None if on_cpu else device_ids, **kwargs)

    MODEL_WRAPPERS.register_module(name=CPU_WRAPPER, module=CPUDistributedDataParallel, force=True)


class ReportRelay:
    """Forwards the lines appended to a ``reports.jsonl`` to ``tune.report``, each once, in order (lines
    already there when it starts are a previous attempt's: ``trainable`` re-announces the last one)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = self.path.stat().st_size if self.path.is_file() else 0

    def forward(self) -> int:
        """Report every complete new line; returns how many."""
        from ray import tune
        reports = self.new_reports()
        for report in reports:
            tune.report(report)
        return len(reports)

    def new_reports(self) -> list:
        """The complete lines written since the last call, parsed (a half-written last line waits)."""
        if not self.path.is_file():
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return [_with_node(json.loads(line)) for line in complete.decode("utf-8").splitlines() if line.strip()]


def _with_node(report: Dict[str, Any]) -> Dict[str, Any]:
    """The report with the Ray node that ran the trial (rank 0 has no Ray of its own to ask)."""
    if not report.get("node"):
        import ray
        report["node"] = ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    return report


def _join(context: Any, timeout: float) -> bool:
    """True once every rank ended well; a failed rank (the others are ended) raises DistributedTrialError."""
    from torch.multiprocessing import ProcessExitedException, ProcessRaisedException
    try:
        return context.join(timeout=timeout, grace_period=GRACE_S)
    except ProcessRaisedException as err:
        raise DistributedTrialError(f"rank {err.error_index}: {_last_line(err.msg)}") from None
    except ProcessExitedException as err:
        raise DistributedTrialError(f"rank {err.error_index}: {err.msg}") from None


def _last_line(text: str) -> Optional[str]:
    """The last non-empty line of a traceback: the exception and its message."""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1] if lines else "failed without a message"


def _end(context: Any) -> None:
    """Terminate ranks still running (the trial was stopped, or this process is unwinding)."""
    for process in context.processes:
        if process.is_alive():
            process.terminate()
    for process in context.processes:
        process.join(GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()
