"""Shared test settings: deterministic CPU torch."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_torch():
    torch.manual_seed(0)
    yield
