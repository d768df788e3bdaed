"""Zero-cost scores of a neck at initialisation: cheap guesses of how well it will train, to be judged by their
measured rank correlation with real training (never assumed; ``benchmarks/results/zero_cost.md``).

Each function takes the tensors it needs and nothing else (the detector and the data are the caller's), so that
every score is checkable on a hand-computable module:

* :func:`synflow` — Tanaka et al., NeurIPS 2020 ("Pruning neural networks without any data by iteratively
  conserving synaptic flow"), Eq. 7 summed over parameters: with every parameter replaced by its absolute value
  and an all-ones input, R = Σ outputs and the score is Σ_θ θ · ∂R/∂θ. Computed in float64 (the product of all
  layers' magnitudes overflows float32 on deep necks) with the module in eval mode (BatchNorm as an affine map).
* :func:`naswot` — Mellor et al., ICML 2021 ("Neural Architecture Search without Training"), Eq. 2: binary codes
  c_i of N inputs, K_ij = N_A − Hamming(c_i, c_j), score log|det K|. The paper takes the codes from ReLUs; a neck
  may have none (FPN is linear), so the codes here are the signs of the neck's outputs, which is where the
  detector's heads apply their first ReLU.
* :func:`grad_norm` — Abdelfattah et al., ICLR 2021 ("Zero-Cost Proxies for Lightweight NAS"): Σ over parameter
  tensors of ‖∂L/∂θ‖₂ of the training loss on one batch.
* :func:`zico` — Li et al., ICLR 2023 ("ZiCo: Zero-shot NAS via inverse Coefficient of Variation on
  Gradients"), Eq. 7: Σ over parameter tensors of log(Σ_ω E[|∂L/∂ω|] / σ[∂L/∂ω]) over several batches,
  elements with σ = 0 left out.

Parameter count and FLOPs, the baselines every zero-cost score must beat (ZiCo's finding), come from
:mod:`necksearch.analysis.complexity`.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Iterable, List, Sequence

import torch
from torch import nn


def synflow(module: nn.Module, inputs: Sequence[torch.Tensor],
            forward: Callable[[nn.Module, List[torch.Tensor]], Iterable[torch.Tensor]] = lambda m, x: m(x)) -> float:
    """Σ_θ θ·∂R/∂θ with θ → |θ|, all-ones inputs shaped like ``inputs``, R = Σ of every output (float64).
    ``module`` is left as it was (parameters, dtype, mode)."""
    state = {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}
    dtype, was_training = next(module.parameters()).dtype, module.training
    try:
        module.double().eval()
        with torch.no_grad():
            for parameter in module.parameters():
                parameter.abs_()
        module.zero_grad(set_to_none=True)
        ones = [torch.ones_like(x, dtype=torch.float64) for x in inputs]
        total = sum(out.sum() for out in forward(module, ones))
        total.backward()
        return float(sum((p * p.grad).sum() for p in module.parameters() if p.grad is not None))
    finally:
        module.to(dtype)
        module.load_state_dict(state)
        module.zero_grad(set_to_none=True)
        module.train(was_training)


def naswot(outputs: Sequence[torch.Tensor]) -> float:
    """log|det K| of the sign codes of ``outputs`` (each (N, ...): one row per input, all outputs concatenated)."""
    codes = torch.cat([out.detach().flatten(1) > 0 for out in outputs], dim=1).double()
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T  # N_A − Hamming distance
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if sign > 0 else -math.inf


def grad_norm(gradients: Iterable[torch.Tensor]) -> float:
    """Σ ‖g‖₂ over the gradient tensors of one backward of the loss (one per parameter tensor)."""
    return float(sum(gradient.norm() for gradient in gradients))


def zico(gradients: Sequence[Dict[str, torch.Tensor]]) -> float:
    """ZiCo over several batches' gradients (name → gradient of that batch, same names in each)."""
    if len(gradients) < 2:
        raise ValueError("ZiCo needs the gradients of at least 2 batches")
    score = 0.0
    for name in gradients[0]:
        stacked = torch.stack([batch[name].detach().double().flatten() for batch in gradients])
        std = stacked.std(dim=0, correction=0)  # numpy's std, as ZiCo's code
        kept = std > 0
        if kept.any():
            ratio = (stacked.abs().mean(dim=0)[kept] / std[kept]).sum()
            score += math.log(float(ratio))
    return score
