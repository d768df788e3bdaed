"""scripts/gpu-check: its reassembly references are right (and can fail), and its CPU form runs end to end."""
import json
import subprocess
from pathlib import Path

import pytest
import torch

from necksearch.analysis.gpu_check import cap_reference, carafe_reference, reassembly_checks
from necksearch.ops.reassembly import cap_reassemble, carafe_reassemble

ROOT = Path(__file__).resolve().parents[2]


def test_carafe_reference_by_hand():
    """Scale 2, k 1: each output pixel is its source pixel times its kernel weight."""
    x = torch.arange(4.0).view(1, 1, 2, 2)
    kernels = torch.full((1, 1, 4, 4), 0.5)
    out = carafe_reference(x, kernels, 1, 2)
    assert torch.equal(out[0, 0], 0.5 * x[0, 0].repeat_interleave(2, 0).repeat_interleave(2, 1))


def test_cap_reference_by_hand():
    """k 3 with all weight on the centre: plain strided subsampling."""
    x = torch.arange(16.0).view(1, 1, 4, 4)
    kernels = torch.zeros(1, 9, 2, 2)
    kernels[:, 4] = 1.0
    assert torch.equal(cap_reference(x, kernels, 3, 2)[0, 0], x[0, 0, ::2, ::2])


def test_the_implementations_match_the_references_and_a_wrong_kernel_would_not():
    rows = reassembly_checks(torch.device("cpu"))
    assert [row["ok"] for row in rows] == [True, True]
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(1, 4, 6, 7, generator=generator)
    kernels = torch.randn(1, 25, 12, 14, generator=generator).softmax(dim=1)
    flipped = kernels.flip(1)  # the window read backwards: what a layout bug would do
    assert not torch.allclose(carafe_reassemble(x, flipped, 5, 2), carafe_reference(x, kernels, 5, 2), atol=1e-3)
    down = torch.randn(1, 4, 12, 14, generator=generator)
    down_kernels = torch.randn(1, 25, 6, 7, generator=generator).softmax(dim=1)
    assert not torch.allclose(cap_reassemble(down, down_kernels.flip(1), 5, 2),
                              cap_reference(down, down_kernels, 5, 2), atol=1e-3)


@pytest.mark.slow
def test_the_cpu_form_runs_and_writes_its_results(tmp_path):
    done = subprocess.run([str(ROOT / "scripts" / "gpu-check"), str(tmp_path)], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    assert {row["neck"] for row in results["necks"]} >= {"fpn", "a2fpn", "a2fpn_lite", "fpt", "augfpn", "mssa_fpn"}
    assert {row["precision"] for row in results["necks"]} == {"fp32", "bf16"}
    assert all("forward_ratio" in row for row in results["necks"])
    assert len(results["ops"]) >= 20 and all(row["ok"] for row in results["reassembly"])
    assert "## Every op against the FPN step at level 2" in (tmp_path / "gpu_check.md").read_text()
