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


def test_a_gt_top_down_step_keeps_the_lateral_beside_the_attention_output():
    """FPT concatenates GT's output with the original map (Sec. 3): as a pyramid's top-down step GT alone would
    let the fine lateral in only as queries, so the template writes T_l = concat(x_l, GT(x_l ← T_{l+1}))."""
    sample = {"template": "pyramid", "lateral/op": "lateral", "lateral/rfa": False, "top/op": "maxpool_down",
              "td/p4/op": "gt", "td/p4/gt/num_parts": 4, "td/p3/op": "sum", "td/p3/sum/mode": "nearest",
              "td/p2/op": "lgt", "td/p2/lgt/window": 3, "bu/p3/op": "none", "bu/p4/op": "none", "bu/p5/op": "none",
              "detector/roi_extractor": "fpn", "detector/consistent_supervision": 0.0,
              "detector/output_dropblock": "none"}
    graph = space("default").freeze(sample)
    nodes = {node.name: node for node in graph.nodes}
    for level, op in ((4, "gt"), (2, "lgt")):
        assert nodes[f"{op}{level}"].op == op
        assert nodes[f"t{level}"].op == "concat" and nodes[f"t{level}"].inputs[1] == f"{op}{level}"
        assert nodes[f"t{level}"].inputs[0] == nodes[f"{op}{level}"].inputs[0]  # the lateral, also GT's queries
    assert nodes["t3"].op == "sum"
    neck = GraphNeck(graph, in_channels=[16, 32, 64, 128], out_channels=16).eval()
    with torch.no_grad():
        outputs = neck([torch.randn(1, c, 32 // 2 ** k, 32 // 2 ** k) for k, c in enumerate([16, 32, 64, 128])])
    assert [o.shape[1] for o in outputs] == [16] * 5 and all(torch.isfinite(o).all() for o in outputs)
