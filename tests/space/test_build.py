"""Random points of every shipped space build as torch modules and run forward at a tiny size."""
import optuna
import pytest
import torch

from necksearch.nn import GraphNeck

from tests.space.helpers import SPACE_NAMES, space


@pytest.mark.slow  # ≈25 s on 2 cores (torch warm-up, MGC/CARAFE/attention ops on CPU)
@pytest.mark.parametrize("name", SPACE_NAMES)
def test_random_samples_build_and_run_forward(name):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = space(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    inputs = [torch.randn(1, c, 32 // 2 ** k, 32 // 2 ** k) for k, c in enumerate([16, 32, 64, 128])]
    for _ in range(10):
        trial = study.ask()
        graph = s.freeze(s.suggest(trial))
        neck = GraphNeck(graph, in_channels=[16, 32, 64, 128], out_channels=16).eval()
        with torch.no_grad():
            outputs = neck(inputs)
        assert [o.shape[1] for o in outputs] == [16] * 5, graph.summary()
        assert [o.shape[-1] for o in outputs] == [32, 16, 8, 4, 2], graph.summary()
        assert all(torch.isfinite(o).all() for o in outputs), graph.summary()
        study.tell(trial, 0.0)
