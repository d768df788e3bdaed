"""Every preset is a point of the default space (and of the per-paper spaces that list it): its decoded
sample freezes back to the same canonical hash, directly and replayed through Optuna's FixedTrial."""
import pytest
import yaml
from optuna.trial import FixedTrial

from necksearch.graph.presets import PRESET_DIR, list_presets, load_preset
from necksearch.space import SpaceError

from tests.space.helpers import SPACE_NAMES, space

PRESETS = list_presets()
LISTED = [(name, preset) for name in SPACE_NAMES if name != "default" for preset in space(name).presets]


def test_the_default_space_lists_every_shipped_preset():
    assert PRESETS, "no presets found"
    assert set(space("default").presets) == set(PRESETS)  # re-read from the directory at test time


def test_every_shipped_space_lists_presets_and_the_per_paper_ones_list_theirs():
    assert set(SPACE_NAMES) >= {"default", "a2fpn", "fpt", "augfpn", "mssa"}
    expected = {"a2fpn": {p for p in PRESETS if p.startswith("a2fpn")} | {"fpn", "pafpn"},
                "fpt": {p for p in PRESETS if p.startswith("fpt")},
                "augfpn": {p for p in PRESETS if p.startswith("augfpn")} | {"fpn"},
                "mssa": {p for p in PRESETS if p.startswith(("mssa", "msca"))} | {"fpn", "fpn_concat"}}
    for name, presets in expected.items():
        assert set(space(name).presets) == presets, name


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_is_a_point_of_the_default_space(preset):
    graph = load_preset(preset)
    default = space("default")
    assert default.contains(graph)
    sample = default.sample_of(graph)
    assert default.freeze(sample).canonical_hash() == graph.canonical_hash()
    replayed = default.suggest(FixedTrial(sample))
    assert replayed == sample
    assert default.freeze(replayed).canonical_hash() == graph.canonical_hash()
    assert "preset" not in " ".join(sample)  # op choices, not a "which preset" switch


@pytest.mark.parametrize("name,preset", LISTED, ids=[f"{n}:{p}" for n, p in LISTED])
def test_every_space_contains_the_presets_it_lists(name, preset):
    graph, s = load_preset(preset), space(name)
    sample = s.sample_of(graph)
    assert s.freeze(sample).canonical_hash() == graph.canonical_hash()
    assert s.freeze(s.suggest(FixedTrial(sample))).canonical_hash() == graph.canonical_hash()


def test_per_paper_spaces_do_not_contain_other_papers_architectures():
    assert not space("augfpn").contains(load_preset("a2fpn"))
    assert not space("a2fpn").contains(load_preset("fpt"))
    assert not space("fpt").contains(load_preset("fpn"))
    assert not space("mssa").contains(load_preset("augfpn_rfa"))
    with pytest.raises(SpaceError, match="does not contain graph 'fpt'"):
        space("a2fpn").sample_of(load_preset("fpt"))


def test_presets_decode_to_the_readings_their_files_describe():
    default = space("default")
    a2fpn = default.sample_of(load_preset("a2fpn"))
    assert a2fpn["lateral/op"] == "mgc" and a2fpn["top/op"] == "conv_down" and a2fpn["bu/p2/conv"] is True
    assert {a2fpn[f"td/p{l}/op"] for l in (2, 3, 4, 5)} == {"gacarafe"}
    lite = default.sample_of(load_preset("a2fpn_lite"))
    assert lite["lateral/mgc/context_channels"] == 128 and lite["lateral/mgc/entities"] == "32(6-i)"
    assert lite["bu/p2/conv"] is False and lite["top/op"] == "maxpool_down"
    top2 = default.sample_of(load_preset("mssa_fpn_top2"))
    assert [top2[f"td/p{l}/op"] for l in (5, 4, 3, 2)] == ["mssa", "mssa", "sum", "sum"]
    fpt = default.sample_of(load_preset("fpt_st_rt"))
    assert (fpt["template"], fpt["fpt/self/op"], fpt["fpt/coarse/op"], fpt["fpt/fine/op"]) == ("fpt", "st", "none", "rt")
    assert default.sample_of(load_preset("augfpn"))["detector/roi_extractor"] == "srs"


def test_a_preset_renamed_and_reordered_is_still_contained(tmp_path):
    data = yaml.safe_load((PRESET_DIR / "pafpn.yaml").read_text())
    data["nodes"] = [{**node, "name": f"x_{node['name']}",
                      "inputs": [i if i.startswith("c") else f"x_{i}" for i in node["inputs"]]}
                     for node in reversed(data["nodes"])]
    data["outputs"] = [f"x_{o}" for o in data["outputs"]]
    from necksearch.graph import NeckGraph
    graph = NeckGraph.from_dict(data)
    assert space("default").freeze(space("default").sample_of(graph)).canonical_hash() == \
        load_preset("pafpn").canonical_hash()
