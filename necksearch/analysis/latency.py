"""Measured inference latency of a neck alone: the ``latency`` objective of a search.

The neck runs at full width (256 channels on ResNet-50's C2..C5 widths) on random backbone maps of an
``image_hw`` image, under ``torch.inference_mode``; the result is the median of ``repeats`` timed
calls after ``warmup`` untimed ones, synchronising CUDA around each call. Absolute numbers depend on
the machine and its load: compare trials of one search, measured on the same kind of worker.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable, List, Sequence

import torch

from necksearch.errors import NeckSearchError
from necksearch.graph.presets import GraphSpec, resolve_graph
from necksearch.graph.shapes import RESNET50_WIDTHS
from necksearch.graph.structure import backbone_level

#: Half of the papers' 1280×832 in each side: a CPU worker measures a heavy neck in seconds.
LATENCY_IMAGE = (640, 416)


def neck_latency_ms(graph: GraphSpec, image_hw: Sequence[int] = LATENCY_IMAGE, device: str = "cpu",
                    repeats: int = 3, warmup: int = 1) -> float:
    """Median wall time (ms) of one forward pass of the neck (see the module docstring)."""
    from necksearch.nn import GraphNeck
    graph = resolve_graph(graph)
    where = torch.device(device)
    neck = GraphNeck(graph, in_channels=resnet50_widths(graph), out_channels=graph.channels).to(where).eval()
    maps = backbone_maps(graph, image_hw, 1, where)
    with torch.inference_mode():
        return median_ms(lambda: neck(maps), where, repeats, warmup)


def backbone_maps(graph: Any, image_hw: Sequence[int], batch: int, device: torch.device,
                  seed: int = 0) -> List[torch.Tensor]:
    """Random ResNet-50 maps at the levels the graph reads (each input ``c<l>`` at C<l>'s width), for an
    ``image_hw`` image (seeded)."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, width, -(-image_hw[0] // 2 ** level), -(-image_hw[1] // 2 ** level),
                        generator=generator).to(device)
            for width, level in zip(resnet50_widths(graph), (backbone_level(name) for name in graph.inputs))]


def resnet50_widths(graph: Any) -> List[int]:
    """ResNet-50's width for each input of ``graph``, by name (``c3`` → 512); a clear error for another input."""
    unknown = [name for name in graph.inputs if name not in RESNET50_WIDTHS]
    if unknown:
        raise NeckSearchError(f"graph {graph.name!r}: ResNet-50 has no input(s) {unknown} (it gives "
                              f"{', '.join(RESNET50_WIDTHS)})")
    return [RESNET50_WIDTHS[name] for name in graph.inputs]


def median_ms(fn: Callable[[], Any], device: torch.device, repeats: int, warmup: int) -> float:
    """Median wall time (ms) of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones, CUDA synchronised."""
    times = []
    for index in range(warmup + repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        if index >= warmup:
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op off CUDA), so that wall times measure it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
