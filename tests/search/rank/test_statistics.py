"""necksearch.search.rank.statistics: seed noise, rank agreement and the Welch interval, checked by hand."""
import math
import statistics

import pytest

from necksearch.search.rank.statistics import (disjoint_seed_groups, mean_std, pooled_std, rank_correlation,
                                              seed_agreement, welch_interval)


def test_rank_correlation_by_hand():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == {"tau": 1.0, "rho": 1.0, "n": 4}
    reversed_ = rank_correlation([1, 2, 3, 4], [4, 3, 2, 1])
    assert reversed_["tau"] == -1.0 and reversed_["rho"] == -1.0
    one_swap = rank_correlation([1, 2, 3, 4], [1, 2, 4, 3])  # 5 concordant, 1 discordant pair of 6
    assert one_swap["tau"] == pytest.approx(4 / 6) and one_swap["rho"] == pytest.approx(0.8)
    assert rank_correlation([1, 2], [1, 2])["tau"] is None  # too few graphs to rank
    assert rank_correlation([1, 1, 1], [1, 2, 3])["tau"] is None  # a constant list ranks nothing


def test_pooled_seed_noise_is_the_root_mean_variance():
    assert pooled_std([[1.0, 3.0], [2.0, 2.0], [5.0]]) == pytest.approx(math.sqrt((2.0 + 0.0) / 2))
    assert pooled_std([[1.0]]) is None


def test_seed_agreement_averages_over_seed_pairs():
    by_graph = {"a": {0: 0.1, 1: 0.1, 2: 0.3}, "b": {0: 0.2, 1: 0.2, 2: 0.2}, "c": {0: 0.3, 1: 0.3, 2: 0.1}}
    agreement = seed_agreement(by_graph)
    assert [p["tau"] for p in agreement["pairs"]] == [1.0, -1.0, -1.0]
    assert agreement["tau"] == pytest.approx(-1 / 3)


def test_seed_agreement_of_two_seed_means_over_every_split():
    """Four seeds split into two pairs three ways ({0,1}|{2,3}, {0,2}|{1,3}, {0,3}|{1,2}); each graph ranked by its
    mean over each pair. b − c by seed is +0.3, −0.2, −0.05, +0.1: by the means b stays above c across {0,1}|{2,3}
    (τ 1) and swaps across the other two splits (τ 1/3). Ranking a group by its first seed, or by its last, would
    swap them in every split (τ 1/3 each), so only the means give these τs."""
    by_graph = {"a": {0: 0.1, 1: 0.1, 2: 0.1, 3: 0.1}, "b": {0: 0.7, 1: 0.2, 2: 0.35, 3: 0.5},
                "c": {0: 0.4, 1: 0.4, 2: 0.4, 3: 0.4}}
    assert disjoint_seed_groups([0, 1, 2, 3], 2) == [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    agreement = seed_agreement(by_graph, seeds_per_side=2)
    assert [p["tau"] for p in agreement["pairs"]] == [1.0, pytest.approx(1 / 3), pytest.approx(1 / 3)]
    assert agreement["tau"] == pytest.approx(5 / 9)
    assert disjoint_seed_groups([0, 1, 2], 1) == [((0,), (1,)), ((0,), (2,)), ((1,), (2,))]


def test_mean_std_of_none_one_and_several_values():
    assert mean_std([]) == {"mean": None, "std": None, "n": 0}
    assert mean_std([0.3]) == {"mean": 0.3, "std": 0.0, "n": 1}
    assert mean_std([0.1, 0.3]) == {"mean": pytest.approx(0.2), "std": pytest.approx(math.sqrt(0.02)), "n": 2}


def test_welch_interval_matches_the_textbook_formula():
    """a = (1, 2, 3), b = (5, 6, 7): variances of the means 1/3 each, df = (2/3)² / (2·(1/3)²/2) = 4, half-width
    t(0.975, 4)·√(2/3) = 2.776·0.816 = 2.27; with b = (4, 6, 8) the same difference is not beyond noise."""
    from scipy.stats import t
    diff, low, high = welch_interval([1.0, 2.0, 3.0], [5.0, 6.0, 7.0])
    half = t.ppf(0.975, 4) * math.sqrt(2 / 3)
    assert diff == pytest.approx(4.0)
    assert (low, high) == (pytest.approx(4.0 - half), pytest.approx(4.0 + half))
    assert low > 0  # b beats a beyond noise at 95%
    assert welch_interval([1.0, 2.0, 3.0], [4.0, 6.0, 8.0])[1] < 0  # df 50/17, half-width 4.16


def test_welch_interval_contains_zero_for_overlapping_seeds_and_needs_two_values_a_side():
    diff, low, high = welch_interval([0.25, 0.27, 0.26], [0.26, 0.28, 0.25])
    assert low < 0 < high and diff == pytest.approx(statistics.fmean([0.26, 0.28, 0.25]) - 0.26)
    assert welch_interval([0.2, 0.2], [0.3, 0.3]) == (pytest.approx(0.1), pytest.approx(0.1), pytest.approx(0.1))
    with pytest.raises(ValueError, match="at least two values"):
        welch_interval([0.2], [0.3, 0.3])
