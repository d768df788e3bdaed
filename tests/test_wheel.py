"""The package as a user installs it: a wheel built from the repository, installed into a fresh virtual
environment, run from a directory outside the checkout. The heavy packages (torch, mmdet, Ray, ...) are reused
from the environment running the tests through a ``.pth`` line; necksearch itself comes only from the wheel."""
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: What a wheel is built from (setuptools writes build/ and *.egg-info beside it: a copy keeps the checkout clean).
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "necksearch", "search_spaces", "configs")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(source)], check=True, timeout=600)
    (found,) = out.glob("necksearch-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The fresh environment's ``bin`` folder, necksearch installed there from the wheel alone."""
    env = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=300)
    site = Path(subprocess.run([str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "heavy_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install", "--no-deps",
                    "--no-index", "-q", str(wheel)], check=True, timeout=600)
    return env / "bin"


def run(bin_dir: Path, cwd: Path, *argv: str, timeout: int = 600) -> str:
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment["PATH"] = f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}"
    done = subprocess.run([str(bin_dir / "necksearch"), *argv], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"necksearch {' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_carries_the_spaces_configs_and_presets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for resource in ("necksearch/_data/search_spaces/default.yaml",
                     "necksearch/_data/configs/proxy/faster-rcnn_effnet-lite0_fpn_synth.py",
                     "necksearch/_data/configs/_base_/default_runtime.py",
                     "necksearch/presets/a2fpn.yaml", "necksearch/presets/found/found_fpt_gt_rt_srs_cs.yaml",
                     "necksearch/search/cost/rank_fidelity.json",
                     "necksearch/catalogue/records.json"):
        assert resource in names
    assert not any("__pycache__" in name for name in names)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    located = subprocess.run([str(installed / "python"), "-c", "import necksearch; print(necksearch.__file__)"],
                             cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()
    assert Path(located).resolve().is_relative_to(installed.parent.resolve())


def test_presets_show_and_a_search_run_outside_the_checkout(installed, tmp_path):
    assert "a2fpn_lite" in run(installed, tmp_path, "presets")
    assert "a2fpn" in run(installed, tmp_path, "show", "a2fpn")
    run(installed, tmp_path, "data", "synth", "--out", "data/tiny", "--train", "8", "--val", "4", "--size", "128", "128")
    out = run(installed, tmp_path, "search", "--name", "wheel", "--runs-dir", "runs", "--data-root", "data/tiny",
              "--num-trials", "1", "--epochs", "1", "--image-size", "64", "--fixed-points", "fpn", "--max-concurrent",
              "1", timeout=900)
    assert "trial 0 fpn" in out
    assert (tmp_path / "runs" / "wheel" / "results.json").is_file()
