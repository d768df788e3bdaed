"""The found necks shipped in necksearch/presets/found/: loadable by name like a preset, points of the default space,
the very graph their confirmation trained (its hash), and not listed as published presets."""
import re

import pytest

from necksearch.graph.errors import GraphError
from necksearch.graph.presets import FOUND_DIR, PUBLISHED_NECKS, list_found_necks, list_presets, load_preset
from necksearch.space import load_space

#: Each found neck's canonical hash with today's op revisions (the search trained trial 468 with RT at revision 1,
#: hash b6900206 in its study; found_fpt_gt_rt_srs_cs is the revision-2 graph its confirmation retrained;
#: found_fpt_st_rt_srs_cs was searched and confirmed at revision 2, hash b222b9c7 in campaign-tpe-s1's study).
CONFIRMED = {"found_fpt_gt_rt_srs": "f71cfdbf", "found_fpt_gt_rt_srs_cs": "c4d85a1d",
             "found_fpt_st_rt_srs_cs": "b222b9c7"}


def test_found_necks_are_shipped_apart_from_the_published_presets():
    assert list_found_necks() == sorted(CONFIRMED)
    assert not set(list_found_necks()) & set(list_presets())
    assert not set(list_found_necks()) & set(PUBLISHED_NECKS)


@pytest.mark.parametrize("name", sorted(CONFIRMED))
def test_a_found_neck_is_the_confirmed_graph_and_a_point_of_the_default_space(name):
    graph = load_preset(name)
    graph.validate()
    assert graph.name == name and graph.canonical_hash().startswith(CONFIRMED[name])
    assert load_space("default").contains(graph)
    text = (FOUND_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Found by necksearch") and re.search(r"\d\.\d{3} ± \d\.\d{3}", text)


def test_an_unknown_found_name_is_refused_with_the_names_there_are():
    with pytest.raises(GraphError, match="unknown preset 'found_nothing'.*found_fpt_gt_rt_srs_cs"):
        load_preset("found_nothing")
