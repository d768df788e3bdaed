"""Adding an operation is one file: a module outside necksearch, named in ``NECKSEARCH_PLUGINS``, registers an op
that is then listed, validated and shape-inferred, drawn, searched in a space file, built and trained — and no
file of necksearch changes. Each check runs in a fresh process, as a user's CLI or a search trial would."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: The whole plugin: its record (slot, paper, the weight's range) and its module, in one file.
PLUGIN = '''
"""A coarse→fine fusion for the plugin test: target + w · upsample(source)."""
from typing import Literal

import torch.nn.functional as F
from torch import nn

from necksearch.ops import register_op


@register_op("weighted_sum", slot="up", paper="necksearch plugin test", args={"weight": {"low": 0.0, "high": 1.0}})
class WeightedSum(nn.Module):
    """target + weight × source resized to the target's size."""

    def __init__(self, channels: int, scale: int = 2, weight: float = 0.5,
                 mode: Literal["nearest", "bilinear"] = "nearest") -> None:
        super().__init__()
        if mode not in ("nearest", "bilinear"):
            raise ValueError(f"mode must be nearest or bilinear, got {mode!r}")
        self.weight, self.mode = weight, mode
        self.gain = nn.Parameter(self.weight * __import__("torch").ones(channels, 1, 1))

    def forward(self, target, source):
        return target + self.gain * F.interpolate(source, size=target.shape[-2:], mode=self.mode)
'''

SPACE = '''
name: plugin
templates: [pyramid]
parameters:
  channels: 32
  td/op: [sum, weighted_sum]
  td/weighted_sum/weight: {type: float, low: 0.1, high: 0.9}
'''


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plugin")
    (folder / "weighted_sum_op.py").write_text(textwrap.dedent(PLUGIN))
    (folder / "plugin.yaml").write_text(textwrap.dedent(SPACE))
    # the record bounds the weight to [0, 1]: a space may not search beyond it
    (folder / "beyond_the_record.yaml").write_text(textwrap.dedent(SPACE).replace("high: 0.9", "high: 2.0"))
    return folder


def run_python(plugin: Path, code: str, timeout: int = 300) -> str:
    env = {**os.environ, "NECKSEARCH_PLUGINS": str(plugin / "weighted_sum_op.py")}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=plugin, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def run_cli(plugin: Path, *argv: str, timeout: int = 600) -> str:
    return run_python(plugin, f"import sys; from necksearch.cli import main; sys.exit(main({list(argv)!r}))", timeout)


def test_listed_with_its_record(plugin):
    ops = {op["name"]: op for op in json.loads(run_cli(plugin, "ops", "--json"))}
    assert ops["weighted_sum"]["slot"] == "up" and ops["weighted_sum"]["defaults"] == {"weight": 0.5, "mode": "nearest"}
    assert "weighted_sum" in run_cli(plugin, "ops")


def test_searched_in_a_space_file_validated_shape_inferred_and_drawn(plugin):
    out = run_python(plugin, """
        import optuna
        from necksearch.space import load_space
        from necksearch.viz import draw
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        space = load_space("plugin.yaml")
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for _ in range(20):
            graph = space.freeze(space.suggest(study.ask()))
            if any(node.op == "weighted_sum" for node in graph.nodes):
                break
        fused = [node for node in graph.nodes if node.op == "weighted_sum"]
        assert fused and all(0.1 <= node.args.get("weight", 0.5) <= 0.9 for node in fused), fused
        assert space.contains(graph) and space.sample_of(graph) == space.sample_of(space.freeze(space.sample_of(graph)))
        shapes = graph.infer_shapes()
        print(sorted({(shapes[node.name].level, shapes[node.name].channels) for node in fused}))
        open("graph.yaml", "w").write(graph.to_yaml())
        draw(graph, "graph.png")
        try:
            load_space("beyond_the_record.yaml")
        except Exception as err:
            print("refused:", err)
    """)
    assert "32)" in out and "td/weighted_sum/weight" in out.split("refused:")[1]
    assert (plugin / "graph.png").stat().st_size > 1000


@pytest.mark.slow
def test_built_and_trained(plugin, tmp_path):
    from necksearch.data import make_synthetic_coco
    data = make_synthetic_coco(tmp_path / "tiny", seed=0, num_train=8, num_val=4, image_hw=(128, 128))
    graph = plugin / "graph.yaml"
    if not graph.is_file():
        test_searched_in_a_space_file_validated_shape_inferred_and_drawn(plugin)
    run_cli(plugin, "train", "--graph", str(graph), "--epochs", "1", "--image-size", "64", "--data-root", str(data),
            "--work-dir", str(tmp_path / "work"))
    checkpoint = json.loads(run_python(plugin, f"""
        import json, torch
        state = torch.load({str(tmp_path / 'work' / 'epoch_1.pth')!r}, map_location="cpu", weights_only=False)
        print(json.dumps(sorted(key for key in state["state_dict"] if key.endswith(".gain"))))
    """))
    assert checkpoint and all(key.startswith("neck.nodes.t") for key in checkpoint)


def test_an_unloadable_plugin_is_named(plugin, tmp_path):
    env = {**os.environ, "NECKSEARCH_PLUGINS": str(tmp_path / "missing_op.py")}
    done = subprocess.run([sys.executable, "-m", "necksearch.cli", "ops"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and "missing_op.py" in done.stderr and "NECKSEARCH_PLUGINS" in done.stderr
