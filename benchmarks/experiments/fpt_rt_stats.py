"""Output statistics of FPT's transformers inside a neck on the default proxy (issue 22, the RT diagnosis).

For a graph (a preset name), it runs the frozen EfficientNet-Lite0 backbone and the neck at the proxy's
width on the synthetic validation images at one image size and prints, per node, the RMS of the map
the node writes, grouped as the fusion sees them: the lateral X_l, each ST / GT / RT output, the fused
output. For every RT node it also prints the range of its channel weight w = GAP(K) (FPT Eq. 6; after the released
code's 1×1 conv + BN + ReLU when the node has ``gap_transform``), the gate that multiplies the coarse map Q. With ``--checkpoint`` the neck's weights come from a trained
trial (``epoch_N.pth``; the backbone is frozen, so only the neck is loaded) and BatchNorm runs on its
running statistics; without, the neck is at its initialisation and BatchNorm normalises by the batch,
as in the first training iteration.

    .venv/bin/python benchmarks/experiments/fpt_rt_stats.py fpt_gt_rt --image-size 128
    .venv/bin/python benchmarks/experiments/fpt_rt_stats.py fpt_gt_rt --checkpoint runs/x/epoch_3.pth --json out.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from necksearch.data import ensure_synthetic_coco
from necksearch.mmdet.backbones import LITE0_MEAN, LITE0_STD, LITE0_WIDTHS, EfficientNetLite0
from necksearch.nn.graph_neck import GraphNeck

PROXY_WIDTH = 64


def load_images(root: Path, count: int, size: int) -> torch.Tensor:
    """The first ``count`` validation images, resized to size², normalised as the backbone's weights expect."""
    files = sorted((root / "val").glob("*.png"))[:count] or sorted((root / "val").glob("*.jpg"))[:count]
    pixels = [np.asarray(Image.open(f).convert("RGB").resize((size, size), Image.BILINEAR), np.float32)
              for f in files]
    batch = torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2)
    return (batch - torch.tensor(LITE0_MEAN).view(1, 3, 1, 1)) / torch.tensor(LITE0_STD).view(1, 3, 1, 1)


def build_neck(graph: str, checkpoint: str | None) -> GraphNeck:
    neck = GraphNeck(graph, in_channels=LITE0_WIDTHS, out_channels=PROXY_WIDTH)
    if checkpoint:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
        neck.load_state_dict({k[len("neck."):]: v for k, v in state.items() if k.startswith("neck.")})
        neck.eval()
    else:
        neck.train()
    return neck


def rms(x: torch.Tensor) -> float:
    return float(x.pow(2).mean().sqrt())


def node_statistics(graph: str, images: torch.Tensor, checkpoint: str | None = None) -> dict:
    """{node: {"op", "rms"} (+ "gate_min", "gate_max", "gate_mean" for RT)} for every node of the neck."""
    torch.manual_seed(0)
    backbone = EfficientNetLite0(out_indices=(1, 2, 3, 4), frozen=True).eval()
    neck = build_neck(graph, checkpoint)
    names = [node.name for node in neck.order]
    gates = {}
    for name, module in neck.nodes.items():
        if hasattr(module, "gap"):  # RT: the channel weight w that multiplies Q (after the code's transform, if on)
            module.gap.register_forward_hook(lambda _m, _i, out, name=name: gates.__setitem__(name, out))
    with torch.no_grad():
        _, maps = neck(list(backbone(images)), return_nodes=names)
    stats = {}
    for node in neck.order:
        entry = {"op": node.op, "rms": rms(maps[node.name])}
        if node.name in gates:
            gate = gates[node.name]
            entry.update(gate_min=float(gate.min()), gate_max=float(gate.max()), gate_mean=float(gate.mean()),
                         gate_rms=rms(gate))
        stats[node.name] = entry
    return stats


def print_table(stats: dict) -> None:
    print(f"{'node':10} {'op':10} {'rms':>9}  RT gate w min / mean / max")
    for name, entry in stats.items():
        gate = (f"  {entry['gate_min']:+.3f} / {entry['gate_mean']:+.3f} / {entry['gate_max']:+.3f}"
                if "gate_min" in entry else "")
        print(f"{name:10} {entry['op']:10} {entry['rms']:9.3f}{gate}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("graph", help="preset name or graph file")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--images", type=int, default=8, help="validation images in the batch")
    parser.add_argument("--checkpoint", help="a trained trial's epoch_N.pth (neck weights)")
    parser.add_argument("--json", help="also write the statistics to this file")
    args = parser.parse_args()
    images = load_images(ensure_synthetic_coco(), args.images, args.image_size)
    stats = node_statistics(args.graph, images, args.checkpoint)
    print_table(stats)
    if args.json:
        Path(args.json).write_text(json.dumps(stats, indent=1) + "\n")


if __name__ == "__main__":
    main()
