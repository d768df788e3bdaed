"""Zero-cost scores on hand-computable modules (necksearch/analysis/zero_cost.py)."""
import math

import pytest
import torch
from torch import nn

from necksearch.analysis.zero_cost import grad_norm, naswot, synflow, zico


class TwoLinear(nn.Module):
    """y = w2 · (w1 · x): synflow with |w|, x = 1, R = |w2|·|w1|, and θ·∂R/∂θ = R for each of the two."""

    def __init__(self, w1: float, w2: float):
        super().__init__()
        self.first = nn.Linear(1, 1, bias=False)
        self.second = nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            self.first.weight.fill_(w1)
            self.second.weight.fill_(w2)

    def forward(self, inputs):
        return [self.second(self.first(inputs[0]))]


def test_synflow_by_hand_and_the_module_is_left_as_it_was():
    module = TwoLinear(-2.0, 3.0)
    assert synflow(module, [torch.zeros(1, 1)]) == pytest.approx(2 * 6.0)
    assert module.first.weight.item() == -2.0 and module.first.weight.dtype == torch.float32
    assert module.training and module.first.weight.grad is None


def test_naswot_by_hand():
    """Codes 11, 10, 01 (N_A = 2): K = [[2,1,1],[1,2,0],[1,0,2]], det = 4."""
    outputs = [torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0]])]
    assert naswot(outputs) == pytest.approx(math.log(4.0))


def test_naswot_of_identical_codes_is_minus_infinity():
    assert naswot([torch.ones(3, 4)]) == -math.inf


def test_grad_norm_sums_per_tensor_norms():
    assert grad_norm([torch.tensor([3.0, 4.0]), torch.tensor([-2.0])]) == pytest.approx(7.0)


def test_zico_by_hand():
    """One tensor of two elements over two batches: element 1 has grads 1, 3 (mean|g| 2, std 1), element 2 the
    same value twice (std 0: left out). Score log(2)."""
    batches = [{"w": torch.tensor([1.0, 5.0])}, {"w": torch.tensor([3.0, 5.0])}]
    assert zico(batches) == pytest.approx(math.log(2.0))


def test_zico_needs_two_batches():
    with pytest.raises(ValueError):
        zico([{"w": torch.ones(2)}])
