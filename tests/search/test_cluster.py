"""A real two-node Ray cluster on this machine (`ray start --head` plus a second `ray start --address`, one
CPU each) runs a small search through `--address`: both nodes train a trial at the same time."""
import json
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
