"""A real two-node Ray cluster on this machine (`ray start --head` plus a second `ray start --address`, one
CPU each) runs a small search through `--address`: both nodes train a trial at the same time.

The fixture stops only the processes of its own cluster: both nodes are started with its own ``--temp-dir``, and at
the end the processes whose command line names that directory (GCS, raylets, agents, monitors), with every
descendant of theirs (workers rename themselves ``ray::...``), are terminated and waited for. ``ray stop`` would
stop every Ray instance on the machine, a search running beside the tests included."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, List

import pytest
from optuna.trial import TrialState

from tests.search.helpers import load_trials, run_search

pytestmark = pytest.mark.slow
RAY = str(Path(sys.executable).parent / "ray")
#: Ray 2.60 secures a cluster with a token (~/.ray/auth_token); the nodes and the driver must agree on it.
ENV = dict(os.environ, RAY_AUTH_MODE="token")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ray(*args, check=True):
    done = subprocess.run([RAY, *args], env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 or not check, f"ray {' '.join(args)}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return done


def _psutil() -> Any:
    import ray  # noqa: F401  Ray ships psutil (ray/thirdparty_files) and puts it on sys.path when imported
    import psutil
    return psutil


def cluster_processes(temp_dir: Path) -> List[Any]:
    """The running processes (``psutil.Process``) of the Ray nodes started with ``--temp-dir temp_dir``: those whose
    command line names it, and their descendants."""
    psutil = _psutil()
    found = {}
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(str(temp_dir) in part for part in process.info["cmdline"] or ()):
                found[process.pid] = process
                found.update((child.pid, child) for child in process.children(recursive=True))
        except psutil.Error:  # exited meanwhile, or not ours to read
            continue
    found.pop(os.getpid(), None)
    return list(found.values())


def stop_cluster(temp_dir: Path, timeout_s: float = 20.0) -> List[Any]:
    """SIGTERM to every process of the cluster of ``temp_dir``, SIGKILL to those still there after ``timeout_s`` (the
    GCS server does not exit on SIGTERM; `ray stop` too kills what is left after a grace period of 16 s),
    each waited for; returns any that survived both (a worker whose raylet is gone is no longer its descendant:
    every process found once is kept track of)."""
    psutil = _psutil()
    known = {}
    for signal_them in (psutil.Process.terminate, psutil.Process.kill):
        known.update((process.pid, process) for process in cluster_processes(temp_dir))
        running = [process for process in known.values() if _running(process)]
        for process in running:
            try:
                signal_them(process)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(running, timeout=timeout_s)
    known.update((process.pid, process) for process in cluster_processes(temp_dir))
    return [process for process in known.values() if _running(process)]


def _running(process: Any) -> bool:
    """Running, and not a zombie left for its parent to reap."""
    psutil = _psutil()
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def two_node_cluster():
    port = _free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix="nsray-"))  # short: Ray's unix sockets live under it
    common = ["--num-cpus", "1", "--num-gpus", "0", "--disable-usage-stats", "--temp-dir", str(temp_dir)]
    try:
        _ray("get-auth-token", "--generate")  # a fresh machine has no ~/.ray/auth_token yet
        _ray("start", "--head", "--port", str(port), "--include-dashboard", "false", *common)
        _ray("start", "--address", f"127.0.0.1:{port}", *common)
        yield f"127.0.0.1:{port}"
    finally:
        left = stop_cluster(temp_dir)  # never `ray stop`: it stops every Ray instance on the machine
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not left, f"processes of the test's Ray cluster still running: {[p.pid for p in left]}"


def _alive_nodes(address: str) -> list:
    """The cluster's alive nodes, asked from a fresh process (Ray reads RAY_AUTH_MODE when it is imported)."""
    probe = ("import json, ray; ray.init(address=%r); "
             "print(json.dumps([[n['NodeID'], n['Resources'].get('CPU')] for n in ray.nodes() if n['Alive']]))" % address)
    done = subprocess.run([sys.executable, "-c", probe], env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_search_runs_on_a_two_node_cluster(tmp_path, search_data_root, two_node_cluster, monkeypatch):
    nodes = _alive_nodes(two_node_cluster)
    assert len(nodes) == 2 and all(cpus == 1 for _, cpus in nodes)

    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # for the search subprocess
    run_search("cluster", tmp_path, search_data_root, "--address", two_node_cluster, "--num-trials", "2",
               "--max-concurrent", "2", "--epochs", "1", "--scheduler", "none", "--fixed-points", "fpn,pafpn")
    trials = load_trials(tmp_path / "cluster", "cluster")
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.COMPLETE]
    assert {t.user_attrs["node"] for t in trials} == {node for node, _ in nodes}  # one trial on each node
