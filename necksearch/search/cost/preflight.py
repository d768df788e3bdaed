"""Checks against the Ray cluster before any trial is queued (Ray itself would wait for ever).

* :func:`check_reachable` — an ``--address HOST:PORT`` where nothing listens is refused after one TCP
  connection attempt (a few seconds), before ``ray.init``: Ray's own client retries for minutes and prints
  its C++ connection warnings meanwhile. ``auto`` is left to Ray, which fails at once when it finds no cluster.
* :func:`check_trial_fits` — a trial is one Tune placement-group bundle, so it runs on one node: resources
  per trial that no alive node of the cluster (``ray.nodes()``) can give are refused, naming what the cluster
  has. Tune would otherwise queue the trials and wait for a node that never comes.
* :func:`check_writable` and :func:`check_disk` — the runs directory can be written (tried with a temporary
  file that is removed: permissions, read-only filesystems, a file in the way), and has room for the
  checkpoints the plan expects, before anything of the run is written.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Tuple

from necksearch.errors import NeckSearchError

#: Seconds one TCP connection attempt to the cluster's address may take.
CONNECT_TIMEOUT_S = 5.0


def host_and_port(address: str) -> Tuple[str, int]:
    """``HOST:PORT`` (optionally ``ray://HOST:PORT``) → its parts; a malformed address names the option."""
    bare = address.split("://", 1)[-1]
    host, sep, port = bare.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise NeckSearchError(f"--address {address!r}: give auto, or HOST:PORT of the cluster's head "
                              "(e.g. 10.0.0.5:6379)")
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse an address where nothing accepts a connection (``auto`` passes: Ray resolves it)."""
    if address == "auto":
        return
    host, port = host_and_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as err:
        reason = "timed out" if isinstance(err, socket.timeout) else (err.strerror or str(err))
        raise NeckSearchError(f"--address {address}: cannot reach the Ray cluster's head ({reason}); "
                              "start it with `ray start --head` or give the right HOST:PORT") from None


def alive_nodes(nodes: Iterable[Dict[str, Any]]) -> List[Dict[str, float]]:
    """The resources of each alive node (``ray.nodes()`` entries)."""
    return [dict(node.get("Resources", {})) for node in nodes if node.get("Alive")]


def check_trial_fits(cpus_per_trial: float, gpus_per_trial: float, nodes: List[Dict[str, float]]) -> None:
    """Refuse per-trial resources that no single node has; the message says what the cluster has."""
    if any(node.get("CPU", 0) >= cpus_per_trial and node.get("GPU", 0) >= gpus_per_trial for node in nodes):
        return
    total_cpu = sum(node.get("CPU", 0) for node in nodes)
    total_gpu = sum(node.get("GPU", 0) for node in nodes)
    most_gpu = max((node.get("GPU", 0) for node in nodes), default=0)
    most_cpu = max((node.get("CPU", 0) for node in nodes), default=0)
    has = (f"the cluster has {_count(total_gpu, 'GPU')} and {_count(total_cpu, 'CPU')} on "
           f"{_count(len(nodes), 'node')}")
    if gpus_per_trial > most_gpu:
        raise NeckSearchError(f"--gpus-per-trial {gpus_per_trial:g}: {has}; the most on one node is "
                              f"{most_gpu:g} GPUs (a trial runs on one node)")
    raise NeckSearchError(f"--cpus-per-trial {cpus_per_trial:g}: {has}; the most on one node is "
                          f"{most_cpu:g} CPUs (a trial runs on one node)")


def cluster_slots(cpus_per_trial: float, gpus_per_trial: float, nodes: List[Dict[str, float]]) -> int:
    """How many trials the cluster can run at once: per node, what its CPUs and GPUs each allow."""
    slots = 0
    for node in nodes:
        fits = int(node.get("CPU", 0) // cpus_per_trial)
        if gpus_per_trial > 0:
            fits = min(fits, int(node.get("GPU", 0) // gpus_per_trial))
        slots += fits
    return slots


def _count(value: float, unit: str) -> str:
    return f"{value:g} {unit}{'' if value == 1 else 's'}"


def check_writable(directory: str, option: str) -> None:
    """Refuse a directory that cannot be created or written: a temporary file is made (and removed) in its
    nearest existing ancestor, so that nothing is left behind."""
    ancestor = _existing_ancestor(Path(directory))
    if not ancestor.is_dir():
        raise NeckSearchError(f"{option} {directory}: {ancestor} is a file, not a directory")
    try:
        handle, name = tempfile.mkstemp(prefix=".necksearch-write-test-", dir=ancestor)
    except OSError as err:
        raise NeckSearchError(f"{option} {directory}: cannot write in {ancestor} ({err.strerror})") from None
    os.close(handle)
    os.unlink(name)


def check_disk(directory: str, need_bytes: float, what: str) -> None:
    """Refuse a run whose expected checkpoints (``need_bytes``) do not fit in the free space of ``directory``."""
    free = shutil.disk_usage(_existing_ancestor(Path(directory))).free
    if need_bytes > free:
        raise NeckSearchError(f"{what}: the run would keep about {_gigabytes(need_bytes)} of checkpoints, and "
                              f"{directory} has {_gigabytes(free)} free")


def _existing_ancestor(path: Path) -> Path:
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _gigabytes(size: float) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e8 else f"{size / 1e6:.0f} MB"
