"""A real two-node Ray cluster on this machine (`ray start --head` plus a second `ray start --address`, one
CPU each) runs a small search through `--address`: both nodes train a trial at the same time."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

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


@pytest.fixture
def two_node_cluster():
    port = _free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix="nsray-"))  # short: Ray's unix sockets live under it
    common = ["--num-cpus", "1", "--num-gpus", "0", "--disable-usage-stats"]
    try:
        _ray("get-auth-token", "--generate")  # a fresh machine has no ~/.ray/auth_token yet
        _ray("start", "--head", "--port", str(port), "--include-dashboard", "false", "--temp-dir", str(temp_dir), *common)
        _ray("start", "--address", f"127.0.0.1:{port}", *common)
        yield f"127.0.0.1:{port}"
    finally:
        _ray("stop", "--force", check=False)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_search_runs_on_a_two_node_cluster(tmp_path, search_data_root, two_node_cluster, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    import ray
    ray.init(address=two_node_cluster)
    try:
        nodes = [n for n in ray.nodes() if n["Alive"]]
    finally:
        ray.shutdown()
    assert len(nodes) == 2 and all(n["Resources"]["CPU"] == 1 for n in nodes)

    run_search("cluster", tmp_path, search_data_root, "--address", two_node_cluster, "--num-trials", "2",
               "--max-concurrent", "2", "--epochs", "1", "--scheduler", "none", "--fixed-points", "fpn,pafpn")
    trials = load_trials(tmp_path / "cluster", "cluster")
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.COMPLETE]
    assert {t.user_attrs["node"] for t in trials} == {n["NodeID"] for n in nodes}  # one trial on each node
