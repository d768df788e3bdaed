"""SuperNeck: every path runs through shared candidates and equals its stand-alone GraphNeck loaded from them."""
import itertools

import pytest
import torch

from necksearch.graph.presets import load_preset
from necksearch.nn import GraphNeck
from necksearch.nn.super_neck import SuperNeck
from necksearch.space import SpaceError
from necksearch.space.single_path import tie_group
from tests.space.test_single_path import TINY

WIDTHS = [8, 16, 32, 64]


def maps(batch=2, size=64):
    return [torch.randn(batch, c, size // 2 ** k, size // 2 ** k) for c, k in zip(WIDTHS, range(2, 6))]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("space") / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    torch.manual_seed(0)
    return SuperNeck(str(path), in_channels=WIDTHS, out_channels=16)


def test_every_path_of_a_small_space_equals_its_stand_alone_neck_loaded_from_the_supernet(tiny):
    tiny.eval()
    inputs, seen = maps(), set()
    labels = tiny.space.labels()
    for values in itertools.product(*(dist.names for dist in labels.values())):
        graph = tiny.set_path(tiny.space.freeze(dict(zip(labels, values))))
        seen.add(graph.canonical_hash())
        neck = GraphNeck(graph, in_channels=WIDTHS, out_channels=16).eval()
        neck.load_state_dict(tiny.subnet_state_dict(), strict=True)
        with torch.no_grad():
            for ours, alone in zip(tiny(inputs), neck(inputs)):
                torch.testing.assert_close(ours, alone, atol=1e-6, rtol=0)
    assert len(seen) == 16  # 2 top-down ops at 3 levels × 2 bottom-up choices: every path


def test_default_space_paths_with_published_necks_match_to_1e_6():
    torch.manual_seed(0)
    supernet = SuperNeck("default", "pyramid", in_channels=[24, 40, 112, 320], out_channels=32).eval()
    inputs = [torch.randn(1, c, 64 // 2 ** k, 64 // 2 ** k) for c, k in zip([24, 40, 112, 320], range(2, 6))]
    for preset in ("pafpn", "a2fpn_lite", "msca_fpn"):
        graph = supernet.set_path(load_preset(preset))
        neck = GraphNeck(graph, in_channels=[24, 40, 112, 320], out_channels=32).eval()
        neck.load_state_dict(supernet.subnet_state_dict(), strict=True)
        with torch.no_grad():
            for ours, alone in zip(supernet(inputs), neck(inputs)):
                torch.testing.assert_close(ours, alone, atol=1e-6, rtol=0)
    assert supernet.orthogonal_loss() == 0  # msca_fpn ran last: no MGC on its path
    with torch.no_grad():
        supernet.set_path(load_preset("a2fpn_lite"))
        supernet(inputs)
    assert supernet.orthogonal_loss() > 0


def test_training_draws_one_path_per_call_and_only_it_gets_gradients(tiny):
    tiny.train()
    paths = set()
    for _ in range(6):
        tiny.zero_grad(set_to_none=True)
        sum(out.sum() for out in tiny(maps(batch=1))).backward()
        used = {key for key, _ in tiny.last_steps}
        with_grad = {key for key, module in tiny.choices.items()
                     if any(p.grad is not None for p in module.parameters())}
        assert with_grad <= used and with_grad
        paths.add(frozenset(used))
    assert len(paths) > 1
    tiny.sample_paths = False
    tiny(maps(batch=1))
    assert tiny.last_steps == tiny.active[1]
    tiny.sample_paths = True


def test_a_graph_outside_the_supernets_template_is_refused(tiny):
    with pytest.raises(SpaceError, match="does not contain"):
        tiny.set_path(load_preset("a2fpn"))


def test_hyper_parameter_values_that_keep_the_weight_shapes_share_the_weights():
    supernet = SuperNeck("default", "pyramid", in_channels=[24, 40, 112, 320], out_channels=32)
    by_position = {}
    for key, (graph, node) in supernet.candidates.by_key.items():
        by_position.setdefault((node.name, node.op, tie_group(node, graph)[2]), []).append(key)

    def weights(key):
        return {id(p) for p in supernet.choices[key].parameters()}
    windows = by_position[("lgt3", "lgt", None)]  # window 3, 5, 7: one set of weights
    assert len(windows) == 3 and len({frozenset(weights(k)) for k in windows}) == 1
    kernels = by_position[("t3", "carafe", None)]  # up_kernel 3, 5, 7: differently shaped kernel predictors
    assert len({frozenset(weights(k)) for k in kernels}) == 3
    # LGT's output is concatenated with the lateral (T3 = concat(x3, LGT)), so the conv after it is a concat's
    after_lgt, after_sum = by_position[("d3", "conv3x3", "concat")], by_position[("d3", "conv3x3", "sum")]
    assert len({frozenset(weights(k)) for k in after_lgt}) == 1  # one conv after every LGT window
    assert not weights(after_lgt[0]) & weights(after_sum[0])  # but its own, not the conv after a sum
