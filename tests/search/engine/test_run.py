"""necksearch.search.engine.run: the fixed points a search is asked for, by list and by keyword."""
from __future__ import annotations

import pytest

from necksearch.errors import NeckSearchError
from necksearch.graph.presets import PUBLISHED_NECKS
from necksearch.search.core.settings import SearchSettings
from necksearch.search.engine.run import fixed_point_samples
from necksearch.space import load_space


@pytest.fixture(scope="module")
def default_space():
    return load_space("default")


def _names(space, *fixed_points):
    return list(fixed_point_samples(SearchSettings(fixed_points=fixed_points), space))


def test_keywords_name_the_published_necks_and_every_preset(default_space):
    assert list(fixed_point_samples(SearchSettings(), default_space)) == list(default_space.fixed_points)
    assert _names(default_space, "published") == list(PUBLISHED_NECKS)  # all nine are points of the default space
    assert _names(default_space, "all") == list(default_space.presets)
    assert len(default_space.presets) > len(PUBLISHED_NECKS)  # 'all' holds the ablation rows too
    assert _names(default_space, "fpn", "msca_fpn") == ["fpn", "msca_fpn"]


def test_published_keeps_only_the_published_necks_a_smaller_space_holds():
    fpt_space = load_space("fpt")
    names = _names(fpt_space, "published")
    assert names and set(names) < set(PUBLISHED_NECKS) and "fpt" in names and "a2fpn" not in names


def test_a_preset_outside_the_space_is_refused_by_name(default_space):
    with pytest.raises(NeckSearchError, match="preset 'a2fpn' is not a point of space 'fpt'"):
        _names(load_space("fpt"), "a2fpn")
