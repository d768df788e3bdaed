"""The two MAC counters behind :mod:`necksearch.analysis.complexity` (see its docstring for the protocols).

``PaperTally`` is a hand-written replica of the mmcv-1.x counter as module forward hooks (no library
reproduces that old counter); ``FullTally`` wraps ``torch.utils.flop_counter.FlopCounterMode``.
"""
from __future__ import annotations

import contextlib
import math
from collections import Counter
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple

import torch
from torch import nn




class Tally:
    """MACs per stage (``parts``) and per kind (``terms``) of what runs inside ``part(...)`` blocks."""

    def __init__(self) -> None:
        self.parts: Counter = Counter()
        self.terms: Counter = Counter()

    @property
    def total(self) -> int:
        return int(sum(self.parts.values()))

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class PaperTally(Tally):
    """The mmcv-1.x counter as forward hooks on every countable module of ``model``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self._current: Optional[str] = None
        self._handles = []
        for module in model.modules():
            rule = paper_rule(module)
            if rule is not None:
                self._handles.append(module.register_forward_hook(self._hook(rule)))

    def _hook(self, rule: Callable[[nn.Module, Any, Any], Dict[str, int]]):
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if self._current is None:
                return
            for term, macs in rule(module, inputs, output).items():
                self.terms[term] += macs
                self.parts[self._current] += macs
        return hook

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        self._current = name
        try:
            yield
        finally:
            self._current = None

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


class FullTally(Tally):
    """``torch.utils.flop_counter.FlopCounterMode`` around each stage; FLOPs / 2 = MACs."""

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        from torch.utils.flop_counter import FlopCounterMode
        mode = FlopCounterMode(display=False)
        with mode:
            yield
        for op, flops in mode.get_flop_counts().get("Global", {}).items():
            self.terms[str(op).split(".")[-1]] += flops // 2
            self.parts[name] += flops // 2


@contextlib.contextmanager
def tally_for(model: nn.Module, protocol: str) -> Iterator[Tally]:
    """The counter of ``protocol`` (``paper`` or ``full``) for ``model``, its hooks removed afterwards."""
    tally = PaperTally(model) if protocol == "paper" else FullTally()
    try:
        yield tally
    finally:
        tally.close()


def _numel(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


def _conv(module: nn.Module, inputs: Any, output: torch.Tensor) -> Dict[str, int]:
    pixels = output.shape[0] * _numel(output.shape[2:])
    per_pixel = _numel(module.kernel_size) * module.in_channels * (module.out_channels // module.groups)
    bias = module.out_channels * pixels if module.bias is not None else 0
    return {"conv": per_pixel * pixels, "conv_bias": bias}


def _deconv(module: nn.Module, inputs: Any, output: torch.Tensor) -> Dict[str, int]:
    x = inputs[0]
    pixels = x.shape[0] * _numel(x.shape[2:])
    per_pixel = _numel(module.kernel_size) * module.in_channels * (module.out_channels // module.groups)
    # mmcv 1.x: bias_flops = out_channels * batch * output_height * output_height (sic)
    bias = module.out_channels * output.shape[0] * output.shape[2] * output.shape[2] if module.bias is not None else 0
    return {"deconv": per_pixel * pixels, "deconv_bias": bias}


def _norm(module: nn.Module, inputs: Any, output: Any) -> Dict[str, int]:
    affine = getattr(module, "affine", False) or getattr(module, "elementwise_affine", False)
    return {"norm": inputs[0].numel() * (2 if affine else 1)}


def _act(module: nn.Module, inputs: Any, output: torch.Tensor) -> Dict[str, int]:
    return {"act": output.numel()}


def _pool(module: nn.Module, inputs: Any, output: Any) -> Dict[str, int]:
    return {"pool": inputs[0].numel()}


def _linear(module: nn.Module, inputs: Any, output: torch.Tensor) -> Dict[str, int]:
    bias = output.numel() if module.bias is not None else 0
    return {"linear": inputs[0].numel() * output.shape[-1], "linear_bias": bias}


def _upsample(module: nn.Module, inputs: Any, output: torch.Tensor) -> Dict[str, int]:
    return {"upsample": output[0].numel()}


_PAPER_RULES: Tuple[Tuple[Tuple[type, ...], Callable], ...] = (
    ((nn.Conv1d, nn.Conv2d, nn.Conv3d), _conv),
    ((nn.ConvTranspose2d,), _deconv),
    ((nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm, nn.LayerNorm), _norm),
    ((nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6), _act),
    ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
      nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
      nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d), _pool),
    ((nn.Linear,), _linear),
    ((nn.Upsample,), _upsample),
)


def paper_rule(module: nn.Module) -> Optional[Callable]:
    """The mmcv-1.x counting rule for ``module``'s type, or None when that counter ignores it."""
    for types, rule in _PAPER_RULES:
        if isinstance(module, types):
            return rule
    return None
