"""Preflight against the cluster: an unreachable --address and per-trial resources no node has are refused
before any trial is queued, in one line, exit 2, with nothing written."""
import re
import socket
import subprocess
import sys

import pytest

from necksearch.errors import NeckSearchError
from necksearch.search.cost.preflight import (CONNECT_TIMEOUT_S, check_reachable, check_trial_fits, cluster_slots,
                                              host_and_port)

TWO_NODES = [{"CPU": 16.0, "GPU": 2.0}, {"CPU": 8.0}]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_trial_that_fits_one_node_passes():
    check_trial_fits(4, 2, TWO_NODES)
    check_trial_fits(8, 0, TWO_NODES)


@pytest.mark.parametrize("cpus, gpus, needle", [
    (1, 4, "--gpus-per-trial 4: the cluster has 2 GPUs and 24 CPUs on 2 nodes; the most on one node is 2 GPUs"),
    (32, 0, "--cpus-per-trial 32: the cluster has 2 GPUs and 24 CPUs on 2 nodes; the most on one node is 16 CPUs"),
])
def test_resources_no_node_has_are_refused_naming_the_cluster(cpus, gpus, needle):
    with pytest.raises(NeckSearchError) as err:
        check_trial_fits(cpus, gpus, TWO_NODES)
    assert needle in str(err.value)


def test_a_trial_must_fit_one_node_not_the_sum():
    with pytest.raises(NeckSearchError, match="--cpus-per-trial 20"):
        check_trial_fits(20, 0, TWO_NODES)  # 24 CPUs in all, but at most 16 on one node


def test_a_machine_without_gpus():
    with pytest.raises(NeckSearchError, match="--gpus-per-trial 1: the cluster has 0 GPUs and 2 CPUs on 1 node;"):
        check_trial_fits(1, 1, [{"CPU": 2.0}])


def test_cluster_slots_count_per_node():
    assert cluster_slots(4, 1, TWO_NODES) == 2          # the GPU node: 4 by CPU, 2 by GPU; the other: none
    assert cluster_slots(4, 0, TWO_NODES) == 6          # 4 + 2
    assert cluster_slots(1, 0.5, TWO_NODES) == 4        # fractional GPUs


@pytest.mark.parametrize("address", ["10.0.0.5", "host:port", ":6379", "host:70000"])
def test_a_malformed_address_names_the_option(address):
    with pytest.raises(NeckSearchError, match="--address"):
        host_and_port(address)


def test_ray_client_addresses_parse():
    assert host_and_port("ray://10.0.0.5:10001") == ("10.0.0.5", 10001)


def test_nothing_listening_is_refused_quickly(monkeypatch):
    """Quickly: after one connection attempt, bounded by CONNECT_TIMEOUT_S (counted, not timed)."""
    attempts = []
    connect = socket.create_connection

    def counted(address, timeout=None, *args, **kwargs):
        attempts.append((address, timeout))
        return connect(address, timeout, *args, **kwargs)
    monkeypatch.setattr(socket, "create_connection", counted)
    port = _closed_port()
    with pytest.raises(NeckSearchError, match=f"--address 127.0.0.1:{port}: cannot reach"):
        check_reachable(f"127.0.0.1:{port}")
    assert attempts == [(("127.0.0.1", port), CONNECT_TIMEOUT_S)]


def test_a_listening_address_passes():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        check_reachable(f"127.0.0.1:{server.getsockname()[1]}")


def _search(tmp_path, *argv):
    """``necksearch search`` in a subprocess; the timeout only keeps a hung search from hanging the tests (a loaded
    machine is slow to import and start Ray, so it bounds nothing the tests check)."""
    return subprocess.run([sys.executable, "-m", "necksearch", "search", "--name", "pf", "--runs-dir", str(tmp_path),
                           *argv], capture_output=True, text=True, timeout=600)


def test_search_at_an_address_where_nothing_listens_exits_2_at_once(tmp_path):
    """Refused by the preflight's one connection attempt, before ``ray.init`` (whose client would retry for minutes):
    its message, not Ray's, says so."""
    port = _closed_port()
    done = _search(tmp_path, "--address", f"127.0.0.1:{port}")
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--address 127.0.0.1:{port}: cannot reach the Ray cluster's head (" in lines[0] \
        and "start it with `ray start --head`" in lines[0], done.stderr[-2000:]
    assert not (tmp_path / "pf").exists()


@pytest.mark.slow
def test_search_asking_more_gpus_than_the_machine_has_exits_2(tmp_path):
    """A local Ray instance starts, the preflight reads its nodes (its message names what they have), refuses, and
    shuts Ray down: no run directory."""
    done = _search(tmp_path, "--gpus-per-trial", "64")
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(r"--gpus-per-trial 64: the cluster has \d+ GPUs? and ", lines[0]), \
        done.stderr[-2000:]
    assert not (tmp_path / "pf").exists()


def test_checkpoints_that_do_not_fit_on_the_disk_are_refused(tmp_path):
    from necksearch.search.cost.preflight import check_disk
    check_disk(str(tmp_path / "runs"), 1000, "--num-trials 6 of --epochs 3")
    with pytest.raises(NeckSearchError, match=r"--num-trials 100000 of --epochs 3: the run would keep about "
                                              r"[0-9.]+ GB of checkpoints, and .* has [0-9.]+ (GB|MB) free"):
        check_disk(str(tmp_path / "runs"), 1e18, "--num-trials 100000 of --epochs 3")


def test_the_write_check_leaves_nothing_behind(tmp_path):
    from necksearch.search.cost.preflight import check_writable
    check_writable(str(tmp_path / "runs" / "deeper"), "--runs-dir")
    assert list(tmp_path.iterdir()) == []
