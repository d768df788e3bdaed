"""Cost of each published neck relative to FPN: forward and forward+backward time and peak memory of the
neck alone (``GraphNeck`` on random ResNet-50 backbone maps), in fp32 and under bf16 autocast.

The papers report detector FPS, not neck cost; their ratios to FPN (:data:`PAPER_FPS`, A²-FPN Table 6,
AugFPN §4 runtime, MSSA/MSCA's Cascade Mask R-CNN R50 table; components.md §8) are printed beside the measured
ones for orientation only: a detector's FPS also pays for backbone, heads and post-processing, so a neck's own
slow-down shows diluted there. Each neck is timed between two timings of FPN (before and after, the mean is its
baseline), so that drift of the machine affects both alike.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from necksearch.analysis.latency import backbone_maps, median_ms, resnet50_widths
from necksearch.analysis.memory import peak_memory_bytes
from necksearch.graph.presets import PUBLISHED_NECKS, load_preset

MIB = 2 ** 20
#: Detector FPS as published, (with the neck, with FPN in the same table).
PAPER_FPS = {"pafpn": (12.8, 13.1), "a2fpn": (9.5, 13.1), "a2fpn_lite": (11.1, 13.1),  # A²-FPN Table 6
             "augfpn": (11.1, 13.4),                                                    # AugFPN, V100 runtime
             "mssa_fpn": (11.9, 13.0), "msca_fpn": (11.9, 13.0)}                        # MSSA/MSCA, Cascade R50
PRECISIONS = ("fp32", "bf16")


def benchmark_necks(names: Sequence[str] = PUBLISHED_NECKS, image_hw: Sequence[int] = (1280, 832), batch: int = 2,
                    channels: int = 256, device: str = "cpu", repeats: int = 5, warmup: int = 2,
                    progress: Optional[Callable[[str], None]] = None) -> List[Dict[str, Any]]:
    """One row per (neck, precision): ms forward, ms forward+backward, peak MiB of forward+backward, their
    ratios to FPN measured around it, and the paper's FPS ratio; ``error`` instead when it ran out of memory."""
    where = torch.device(device)
    rows = []
    for precision in PRECISIONS:
        baseline = _Case("fpn", image_hw, batch, channels, where, precision)
        for name in names:
            if progress:
                progress(f"{name} {precision}")
            rows.append(_measure(name, baseline, image_hw, batch, channels, where, precision, repeats, warmup))
    return rows


class _Case:
    """A neck (train mode, on ``device``) with its inputs, ready to run forward or forward+backward."""

    def __init__(self, name: str, image_hw, batch: int, channels: int, device: torch.device, precision: str):
        from necksearch.nn import GraphNeck
        graph = load_preset(name)
        self.device, self.precision = device, precision
        self.neck = GraphNeck(graph, in_channels=resnet50_widths(graph), out_channels=channels).to(device)
        self.maps = backbone_maps(graph, image_hw, batch, device)
        self.params = sum(p.numel() for p in self.neck.parameters())

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def forward(self) -> None:
        self.neck.eval()
        with torch.no_grad(), self._autocast():
            self.neck(self.maps)

    def forward_backward(self) -> None:
        self.neck.train()
        self.neck.zero_grad(set_to_none=True)
        with self._autocast():
            outputs = self.neck(self.maps)
        sum(out.float().sum() for out in outputs).backward()


def _measure(name: str, baseline: _Case, image_hw, batch: int, channels: int, device: torch.device,
             precision: str, repeats: int, warmup: int) -> Dict[str, Any]:
    row: Dict[str, Any] = {"neck": name, "precision": precision, "paper_fps_ratio": _paper_ratio(name)}
    try:
        case = baseline if name == "fpn" else _Case(name, image_hw, batch, channels, device, precision)
        for kind in ("forward", "forward_backward"):
            before = median_ms(getattr(baseline, kind), device, repeats, warmup)
            own = median_ms(getattr(case, kind), device, repeats, warmup)
            after = median_ms(getattr(baseline, kind), device, repeats, warmup)
            row[f"{kind}_ms"] = own
            row[f"{kind}_ratio"] = own / ((before + after) / 2)
        row["peak_mib"] = peak_memory_bytes(case.forward_backward, device) / MIB
        row["mem_ratio"] = row["peak_mib"] / (peak_memory_bytes(baseline.forward_backward, device) / MIB)
        row["params"] = case.params
    except torch.cuda.OutOfMemoryError as err:
        row["error"] = f"out of memory: {str(err).splitlines()[0]}"
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return row


def _paper_ratio(name: str) -> Optional[float]:
    if name == "fpn":
        return 1.0
    if name not in PAPER_FPS:
        return None
    own, fpn = PAPER_FPS[name]
    return round(own / fpn, 3)


def render_necks(rows: Sequence[Dict[str, Any]]) -> str:
    """Markdown table of :func:`benchmark_necks` rows."""
    lines = ["| neck | precision | params | fwd ms | fwd × FPN | f+b ms | f+b × FPN | peak MiB | mem × FPN | "
             "paper FPS ratio (detector) |", "|" + "---|" * 10]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['neck']} | {row['precision']} | {row['error']} |" + " |" * 8)
            continue
        paper = f"{row['paper_fps_ratio']:.2f} (time ×{1 / row['paper_fps_ratio']:.2f})" \
            if row["paper_fps_ratio"] else "-"
        lines.append(f"| {row['neck']} | {row['precision']} | {row['params'] / 1e6:.2f} M | {row['forward_ms']:.2f} | "
                     f"{row['forward_ratio']:.2f} | {row['forward_backward_ms']:.2f} | "
                     f"{row['forward_backward_ratio']:.2f} | {row['peak_mib']:.1f} | {row['mem_ratio']:.2f} | {paper} |")
    return "\n".join(lines) + "\n"
