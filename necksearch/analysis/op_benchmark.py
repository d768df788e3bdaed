"""Cost of every neck operation relative to one FPN step (sum fusion + 3×3 conv) at the same level.

Each operation is built with :func:`~necksearch.ops.slots.make_example` (fixed seed) and timed
forward (eval mode, ``torch.no_grad``) and forward+backward (train mode, backward of ``out.sum()``,
inputs requiring grad as they do in a trained neck); the peak memory of one forward+backward comes
from :func:`~necksearch.analysis.memory.peak_memory_bytes`. The baseline is re-timed alongside each
operation, alternating which of the two goes first, so that machine noise affects both alike.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from necksearch.analysis.latency import sync
from necksearch.analysis.memory import peak_memory_bytes
from necksearch.ops import get_op, list_ops
from necksearch.ops.registry import OpSpec
from necksearch.ops.slots import level_size, make_example

MIB = 2 ** 20
SEED = 0
BASELINE = "sum+conv3x3"

Case = Tuple[nn.Module, Tuple[Any, ...]]


def benchmark_ops(image_hw: Sequence[int] = (1280, 832), channels: int = 256, level: int = 3, batch: int = 1,
                  repeats: int = 5, warmup: int = 1, names: Optional[Sequence[str]] = None,
                  device: torch.device | str = "cpu", num_rois: int = 512,
                  progress: Optional[Callable[[str], None]] = None) -> List[Dict[str, Any]]:
    """Measure every registered operation (or those in ``names``) against the FPN-step baseline.

    Args:
        image_hw: image size (H, W) whose pyramid the example maps come from.
        channels: pyramid width c (backbone level l has c·2^(l-2) channels).
        level: the level the operations write (``up`` reads level+1, ``down`` level−1).
        batch: images per batch.
        repeats: timed runs per measurement; times are their median.
        warmup: untimed runs of each measurement before the timed ones.
        names: operation names to measure, in registry order; all when ``None``.
        device: ``cpu`` or ``cuda`` (or a ``torch.device``).
        num_rois: RoIs (7×7) for the ``roi`` slot.
        progress: called with each operation's name before it is measured.

    Returns:
        One dict per operation: name, slot, params, fwd_ms, fwdbwd_ms, peak_mib, fwd_ratio,
        fwdbwd_ratio, mem_ratio (op / baseline), plus the baseline's own baseline_fwd_ms,
        baseline_fwdbwd_ms, baseline_peak_mib measured alongside it.
    """
    device = torch.device(device)
    example = dict(channels=channels, image_hw=tuple(image_hw), batch=batch, level=level, num_rois=num_rois)
    baseline = _baseline_case(example, device)
    baseline_peak = _peak_mib(baseline, device)
    rows = []
    for spec in _selected(names):
        if progress is not None:
            progress(spec.name)
        case = _build_case(spec, example, device)
        times = _interleaved_times(baseline, case, device, repeats, warmup)
        rows.append(_row(spec, case, times, _peak_mib(case, device), baseline_peak))
    return rows


def _selected(names: Optional[Sequence[str]]) -> List[OpSpec]:
    """Registry order, restricted to ``names`` (unknown names raise with the known ones)."""
    if names is None:
        return list_ops()
    wanted = {get_op(name).name for name in names}
    return [spec for spec in list_ops() if spec.name in wanted]


def _build_case(spec: OpSpec, example: Dict[str, Any], device: torch.device) -> Case:
    """The operation and its example inputs (leaf tensors requiring grad) on ``device``, seeded."""
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    kwargs, inputs = make_example(spec, generator=generator, **example)
    return spec.cls(**kwargs).to(device), _to_leaves(inputs, device)


def _to_leaves(inputs: Any, device: torch.device) -> Any:
    """Tensors (also inside lists and tuples) moved to ``device`` as leaves requiring grad."""
    if isinstance(inputs, torch.Tensor):
        return inputs.to(device).requires_grad_(inputs.is_floating_point())
    if isinstance(inputs, (list, tuple)):
        return type(inputs)(_to_leaves(x, device) for x in inputs)
    return inputs


class FpnStep(nn.Module):
    """The baseline: FPN's top-down step at one level, conv3x3(sum(target, source))."""

    def __init__(self, fuse: nn.Module, refine: nn.Module) -> None:
        super().__init__()
        self.fuse, self.refine = fuse, refine

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        return self.refine(self.fuse(target, source))


def _baseline_case(example: Dict[str, Any], device: torch.device) -> Case:
    """``sum`` (target at the level, source at level+1) followed by ``conv3x3``, from the registry."""
    fuse, inputs = _build_case(get_op("sum"), example, device)
    refine, _ = _build_case(get_op("conv3x3"), example, device)
    return FpnStep(fuse, refine).to(device), inputs


def _leaves(inputs: Any) -> List[torch.Tensor]:
    """The tensors among the (possibly nested) inputs."""
    if isinstance(inputs, torch.Tensor):
        return [inputs]
    if isinstance(inputs, (list, tuple)):
        return [t for x in inputs for t in _leaves(x)]
    return []


def _forward(case: Case) -> Callable[[], Any]:
    """Inference: eval mode, no autograd graph."""
    module, inputs = case

    def run() -> None:
        module.eval()
        with torch.no_grad():
            module(*inputs)
    return run


def _forward_backward(case: Case) -> Callable[[], Any]:
    """Training step of the op alone: train mode, gradients cleared, backward of ``out.sum()``."""
    module, inputs = case

    def run() -> None:
        module.train()
        module(*inputs).sum().backward()
    return run


def _clear_grads(case: Case) -> None:
    """Drop the gradients of the module and of its inputs (outside the timed region)."""
    module, inputs = case
    module.zero_grad(set_to_none=True)
    for tensor in _leaves(inputs):
        tensor.grad = None


def _time_ms(fn: Callable[[], Any], case: Case, device: torch.device) -> float:
    """Wall time of one call of ``fn`` in ms, synchronising CUDA before and after."""
    _clear_grads(case)
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return (time.perf_counter() - start) * 1e3


def _interleaved_times(baseline: Case, case: Case, device: torch.device, repeats: int,
                       warmup: int) -> Dict[str, List[float]]:
    """Times (ms) of baseline and op, forward and forward+backward, alternating who goes first."""
    runs = {"base_fwd": (_forward(baseline), baseline), "op_fwd": (_forward(case), case),
            "base_fwdbwd": (_forward_backward(baseline), baseline), "op_fwdbwd": (_forward_backward(case), case)}
    times: Dict[str, List[float]] = {key: [] for key in runs}
    for _ in range(warmup):
        for fn, owner in runs.values():
            _time_ms(fn, owner, device)
    for rep in range(repeats):
        order = list(runs) if rep % 2 == 0 else ["op_fwd", "base_fwd", "op_fwdbwd", "base_fwdbwd"]
        for key in order:
            times[key].append(_time_ms(*runs[key], device))
    return times


def _peak_mib(case: Case, device: torch.device) -> float:
    """Peak MiB of one forward+backward (gradients cleared first, so their allocation counts)."""
    _clear_grads(case)
    return peak_memory_bytes(_forward_backward(case), device) / MIB


def _row(spec: OpSpec, case: Case, times: Dict[str, List[float]], peak: float,
         baseline_peak: float) -> Dict[str, Any]:
    """One result row: absolute medians, ratios to the baseline measured alongside, parameters."""
    med = {key: statistics.median(values) for key, values in times.items()}
    return {"name": spec.name, "slot": spec.slot, "params": sum(p.numel() for p in case[0].parameters()),
            "fwd_ms": med["op_fwd"], "fwdbwd_ms": med["op_fwdbwd"], "peak_mib": peak,
            "fwd_ratio": med["op_fwd"] / med["base_fwd"], "fwdbwd_ratio": med["op_fwdbwd"] / med["base_fwdbwd"],
            "mem_ratio": peak / baseline_peak,
            "baseline_fwd_ms": med["base_fwd"], "baseline_fwdbwd_ms": med["base_fwdbwd"],
            "baseline_peak_mib": baseline_peak}


def machine_description(device: torch.device | str = "cpu") -> str:
    """The CUDA device's name, or the CPU model (from /proc/cpuinfo) with its core and thread counts."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{_cpu_model()} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def run_meta(image_hw: Sequence[int] = (1280, 832), channels: int = 256, level: int = 3, batch: int = 1,
             repeats: int = 5, warmup: int = 1, device: torch.device | str = "cpu",
             num_rois: int = 512) -> Dict[str, Any]:
    """The header :func:`render_table` prints, for the arguments given to :func:`benchmark_ops`."""
    return {"machine": machine_description(device), "device": str(torch.device(device)),
            "torch": torch.__version__, "image_hw": list(image_hw), "level": level,
            "level_hw": list(level_size(image_hw, level)), "channels": channels, "batch": batch,
            "repeats": repeats, "warmup": warmup, "num_rois": num_rois, "baseline": BASELINE}


COLUMNS = (("name", "{:<16}"), ("slot", "{:<10}"), ("params", "{:>9}"), ("fwd_ms", "{:>9.2f}"),
           ("fwdbwd_ms", "{:>10.2f}"), ("peak_mib", "{:>9.1f}"), ("fwd_ratio", "{:>8.2f}"),
           ("fwdbwd_ratio", "{:>9.2f}"), ("mem_ratio", "{:>8.2f}"))
HEADINGS = ("op", "slot", "params", "fwd ms", "f+b ms", "peak MiB", "fwd ×", "f+b ×", "mem ×")


def render_table(rows: Sequence[Dict[str, Any]], meta: Dict[str, Any]) -> str:
    """Fixed-width text table of :func:`benchmark_ops` rows under a header describing the run.

    ``meta`` is :func:`run_meta`'s dict (machine, device, torch, image_hw, level, level_hw,
    channels, batch, repeats; missing keys print as ``?``; an optional ``note`` is printed too).
    """
    lines = _header(rows, meta)
    lines.append(_format_line(HEADINGS, [fmt.replace(".2f", "").replace(".1f", "") for _, fmt in COLUMNS]))
    lines.append("-" * len(lines[-1]))
    lines += [_format_line([row[key] for key, _ in COLUMNS], [fmt for _, fmt in COLUMNS]) for row in rows]
    return "\n".join(lines) + "\n"


def _format_line(values: Sequence[Any], formats: Sequence[str]) -> str:
    return "  ".join(fmt.format(value) for value, fmt in zip(values, formats)).rstrip()


def _header(rows: Sequence[Dict[str, Any]], meta: Dict[str, Any]) -> List[str]:
    """Run description and the baseline's absolute cost (median over its runs beside each op)."""
    get = lambda key: meta.get(key, "?")  # noqa: E731
    hw, level_hw = get("image_hw"), get("level_hw")
    lines = [f"necksearch op benchmark - machine: {get('machine')}; device: {get('device')}; torch {get('torch')}",
             f"image {_size(hw)}, level {get('level')} ({_size(level_hw)}), channels {get('channels')}, "
             f"batch {get('batch')}, repeats {get('repeats')} (median), roi slot: {get('num_rois')} RoIs of 7x7"]
    if rows:
        base = {key: statistics.median(row[f"baseline_{key}"] for row in rows)
                for key in ("fwd_ms", "fwdbwd_ms", "peak_mib")}
        lines.append(f"baseline (ratio 1.00) = FPN step at level {get('level')}: sum(P{get('level')}, "
                     f"up(P{_next(get('level'))})) then conv3x3 - fwd {base['fwd_ms']:.2f} ms, "
                     f"fwd+bwd {base['fwdbwd_ms']:.2f} ms, peak {base['peak_mib']:.1f} MiB")
    lines.append("fwd: eval + no_grad; f+b: train, backward of out.sum(), inputs require grad; "
                 "peak: tensor storage of one f+b")
    if meta.get("note"):
        lines.append(f"note: {meta['note']}")
    return lines


def _size(hw: Any) -> str:
    return "x".join(str(v) for v in hw) if isinstance(hw, (list, tuple)) else str(hw)


def _next(level: Any) -> Any:
    return level + 1 if isinstance(level, int) else "?"
