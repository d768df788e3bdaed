"""The cluster launch files in launch/: they parse, have each format's required keys, and run necksearch."""
from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

LAUNCH = Path(__file__).resolve().parents[1] / "launch"
RAY_UP_FILES = ("ray-cluster-aws.yaml", "ray-cluster-onprem.yaml")


def _documents(name: str):
    docs = [doc for doc in yaml.safe_load_all((LAUNCH / name).read_text(encoding="utf-8")) if doc is not None]
    assert docs, name
    return docs


def test_launch_directory_holds_the_documented_files():
    names = {p.name for p in LAUNCH.iterdir()}
    assert {"README.md", "slurm-search.sbatch", "kuberay-rayjob.yaml", *RAY_UP_FILES} <= names
    readme = (LAUNCH / "README.md").read_text(encoding="utf-8")
    for name in names - {"README.md"}:
        assert name in readme, f"launch/README.md does not explain {name}"


@pytest.mark.parametrize("name", RAY_UP_FILES)
def test_ray_up_cluster_files(name):
    (config,) = _documents(name)
    assert {"cluster_name", "provider", "auth", "max_workers", "head_start_ray_commands",
            "worker_start_ray_commands", "setup_commands"} <= set(config)
    provider = config["provider"]
    if provider["type"] == "local":
        assert provider["head_ip"] and isinstance(provider["worker_ips"], list) and provider["worker_ips"]
    else:
        assert provider["type"] == "aws" and provider["region"]
        assert {"available_node_types", "head_node_type"} <= set(config)
        assert config["head_node_type"] in config["available_node_types"]
        gpu_types = [t for t in config["available_node_types"].values() if t.get("resources", {}).get("GPU", 0) >= 1]
        assert gpu_types and all(t["node_config"]["InstanceType"].startswith("g5.") for t in gpu_types)
    commands = "\n".join(config["setup_commands"])
    assert "scripts/setup" in commands
    assert any("ray start --head" in c for c in config["head_start_ray_commands"])


@pytest.mark.parametrize("name", RAY_UP_FILES)
def test_ray_up_cluster_files_pass_rays_own_schema(name):
    """Ray's cluster launcher fills its defaults (as `ray up` does, without contacting the cloud) and validates."""
    util = pytest.importorskip("ray.autoscaler._private.util")
    (config,) = _documents(name)
    prepared = util.prepare_config(copy.deepcopy(config))
    util.validate_config(prepared)
    assert prepared["head_node_type"] in prepared["available_node_types"]


def test_kuberay_rayjob_manifest():
    docs = _documents("kuberay-rayjob.yaml")
    (job,) = [d for d in docs if d.get("kind") == "RayJob"]
    assert job["apiVersion"] == "ray.io/v1"
    assert job["metadata"]["name"]
    spec = job["spec"]
    assert "necksearch search" in spec["entrypoint"]
    cluster = spec["rayClusterSpec"]
    assert cluster["rayVersion"] == "2.60.0"
    head = cluster["headGroupSpec"]
    assert isinstance(head["rayStartParams"], dict)
    assert all(isinstance(v, str) for v in head["rayStartParams"].values())  # KubeRay wants strings
    head_container = head["template"]["spec"]["containers"][0]
    secret_env = [e for e in head_container["env"] if "secretKeyRef" in e.get("valueFrom", {})]
    assert secret_env and f"${secret_env[0]['name']}" in spec["entrypoint"]
    workers = cluster["workerGroupSpecs"]
    assert workers and all(w["groupName"] and "template" in w for w in workers)
    assert any(c["resources"]["limits"].get("nvidia.com/gpu") for w in workers
               for c in w["template"]["spec"]["containers"])
    # The run directory: a ReadWriteMany claim mounted in every pod of the cluster.
    (claim,) = [d for d in docs if d.get("kind") == "PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for pod in [head["template"]["spec"]] + [w["template"]["spec"] for w in workers]:
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        (volume,) = [n for n, c in claims.items() if c == claim["metadata"]["name"]]
        assert mounts[volume] in spec["entrypoint"]


def test_kuberay_entrypoint_is_valid_shell():
    (job,) = [d for d in _documents("kuberay-rayjob.yaml") if d.get("kind") == "RayJob"]
    result = subprocess.run(["bash", "-n", "-c", job["spec"]["entrypoint"]], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_slurm_batch_script():
    path = LAUNCH / "slurm-search.sbatch"
    assert shutil.which("bash")
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#!") and "#SBATCH --nodes=" in text
    for fragment in ("ray start --head", "srun", "necksearch search", '--address "$head"', "--storage",
                     "--gpus-per-trial 1", "ray stop"):
        assert fragment in text, fragment
