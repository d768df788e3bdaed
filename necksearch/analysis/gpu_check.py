"""``scripts/gpu-check``: what a CPU cannot check, measured on a GPU in a few minutes; the same steps at tiny
sizes on a CPU (CI runs that form).

1. every published neck alone (ResNet-50 widths, 256 channels, batch 2 at 1280×832): forward and
   forward+backward time and peak memory, fp32 and bf16 autocast, as ratios to FPN in the same run, beside the
   papers' FPS ratios (:mod:`necksearch.analysis.neck_benchmark`);
2. every op's cost relative to the FPN step at level 2 (the core of ``necksearch bench ops --device cuda``);
3. the CARAFE and CAP reassembly on the device against independent references computed in float64 on the CPU
   (mmcv's CUDA kernel where mmcv's ops are importable, else the PyTorch implementation, and it says which).

Needs only torch and pyyaml (no mmcv, mmengine, mmdet), so it runs on a bare GPU machine. Writes
``gpu_check.json`` and ``gpu_check.md`` into the directory given (default ``$OUT``, else the current one).
Exit status 1 when a reassembly check fails.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import torch
import torch.nn.functional as F

#: Sizes of each form: the issue's COCO-scale setting on a GPU, a tiny one on a CPU.
GPU_FORM = dict(image_hw=(1280, 832), batch=2, channels=256, repeats=5, warmup=2)
CPU_FORM = dict(image_hw=(128, 96), batch=1, channels=32, repeats=1, warmup=1)
#: Largest |device − float64 reference| accepted, relative to the reference's largest magnitude.
TOLERANCE = {torch.float32: 1e-5}


def reassembly_checks(device: torch.device) -> List[Dict[str, Any]]:
    """CARAFE (k 5, scale 2, odd target) and CAP (k 5, stride 2) on ``device`` against float64 references."""
    from necksearch.ops.reassembly import _mmcv_carafe, cap_reassemble, carafe_reassemble
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 64, 25, 38, generator=generator)
    up_kernels = torch.randn(2, 25, 49, 76, generator=generator).softmax(dim=1)
    down_x = torch.randn(2, 64, 50, 75, generator=generator)
    down_kernels = torch.randn(2, 25, 25, 38, generator=generator).softmax(dim=1)
    engine = "mmcv CUDA kernel" if device.type == "cuda" and _mmcv_carafe() is not None else "PyTorch"
    checks = [("carafe", engine, carafe_reassemble(x.to(device), up_kernels.to(device), 5, 2).cpu(),
               carafe_reference(x.double(), up_kernels.double(), 5, 2)),
              ("cap", "PyTorch", cap_reassemble(down_x.to(device), down_kernels.to(device), 5, 2).cpu(),
               cap_reference(down_x.double(), down_kernels.double(), 5, 2))]
    rows = []
    for name, used, got, want in checks:
        error = ((got.double() - want).abs().max() / want.abs().max()).item()
        rows.append({"op": name, "engine": used, "device": str(device), "max_rel_error": error,
                     "tolerance": TOLERANCE[torch.float32], "ok": error <= TOLERANCE[torch.float32]})
    return rows


def carafe_reference(x: torch.Tensor, kernels: torch.Tensor, kernel_size: int, scale: int) -> torch.Tensor:
    """CARAFE by its definition (A²-FPN Eq. 9): every output pixel's k×k window of the source around
    (⌊y/s⌋, ⌊x/s⌋), weighted by its own kernel; the upsampled windows are materialised (a slow, plain form)."""
    b, c, h, w = x.shape
    height, width = kernels.shape[-2:]
    windows = F.unfold(x, kernel_size, padding=kernel_size // 2).view(b, c, kernel_size ** 2, h, w)
    rows = torch.arange(height) // scale
    cols = torch.arange(width) // scale
    spread = windows[:, :, :, rows][:, :, :, :, cols]  # (b, c, k², H, W)
    return (spread * kernels.unsqueeze(1)).sum(dim=2)


def cap_reference(x: torch.Tensor, kernels: torch.Tensor, kernel_size: int, scale: int) -> torch.Tensor:
    """CAP by its definition (A²-FPN Eq. 12): a sum over window offsets of strided slices of the padded input."""
    pad = kernel_size // 2
    padded = F.pad(x, (pad, pad, pad, pad))
    out_h, out_w = kernels.shape[-2:]
    out = torch.zeros(x.shape[0], x.shape[1], out_h, out_w, dtype=x.dtype)
    for dy in range(kernel_size):
        for dx in range(kernel_size):
            window = padded[:, :, dy::scale, dx::scale][:, :, :out_h, :out_w]
            out += window * kernels[:, dy * kernel_size + dx].unsqueeze(1)
    return out


def run(out_dir: Path) -> int:
    from necksearch.analysis.neck_benchmark import benchmark_necks, render_necks
    from necksearch.analysis.op_benchmark import benchmark_ops, machine_description, render_table, run_meta
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    form = GPU_FORM if device.type == "cuda" else CPU_FORM
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()
    say(f"gpu-check on {machine_description(device)} ({'GPU' if device.type == 'cuda' else 'CPU, tiny'} form)")
    checks = reassembly_checks(device)
    necks = benchmark_necks(device=str(device), progress=lambda name: say(f"neck {name}"), **form)
    op_settings = dict(image_hw=form["image_hw"], channels=form["channels"], level=2, batch=1,
                       repeats=max(form["repeats"], 1), device=device)
    ops = benchmark_ops(progress=lambda name: say(f"op {name}"), **op_settings)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine_description(device), "device": str(device),
            "torch": torch.__version__, "form": form, "seconds": round(time.perf_counter() - started, 1)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "gpu_check.json").write_text(json.dumps({"meta": meta, "reassembly": checks, "necks": necks,
                                                        "ops": ops}, indent=2, default=str) + "\n")
    text = _markdown(meta, checks, render_necks(necks), render_table(ops, run_meta(**op_settings)))
    (out_dir / "gpu_check.md").write_text(text)
    print(text)
    return 0 if all(check["ok"] for check in checks) else 1


def _markdown(meta: Dict[str, Any], checks: List[Dict[str, Any]], necks: str, ops: str) -> str:
    form = meta["form"]
    lines = [f"# gpu-check, {meta['date']}", "",
             f"{meta['machine']} ({meta['device']}), torch {meta['torch']}; whole run {meta['seconds']} s.", "",
             "## Reassembly against float64 references (CPU)", "",
             "| op | engine | device | max relative error | ok |", "|---|---|---|---|---|"]
    lines += [f"| {c['op']} | {c['engine']} | {c['device']} | {c['max_rel_error']:.2e} | {'yes' if c['ok'] else 'NO'} |"
              for c in checks]
    lines += ["", f"## Published necks alone: batch {form['batch']} at {form['image_hw'][0]}×{form['image_hw'][1]}, "
              f"{form['channels']} channels, ResNet-50 widths; median of {form['repeats']}", "", necks,
              "## Every op against the FPN step at level 2", "", "```", ops.rstrip(), "```", ""]
    return "\n".join(lines)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT") or ".")
    return run(out)


if __name__ == "__main__":
    raise SystemExit(main())
