"""Seeded draws of a space: the same distinct, feasible graphs for the same seed, none of those already taken."""
from necksearch.search.core.draws import seeded_draws
from necksearch.space import load_space


def test_the_same_seed_draws_the_same_distinct_graphs_within_the_space_s_rules():
    space = load_space("default")
    first = seeded_draws(space, 4, seed=3, taken=set())
    assert first == seeded_draws(space, 4, seed=3, taken=set())
    assert list(first) == ["sample00", "sample01", "sample02", "sample03"]
    assert len({space.freeze(sample).canonical_hash() for sample in first.values()}) == 4
    assert not any(space.check_rules(sample) for sample in first.values())
    assert first != seeded_draws(space, 4, seed=4, taken=set())


def test_a_taken_graph_is_skipped_and_the_taken_set_grows():
    space = load_space("default")
    first = seeded_draws(space, 2, seed=3, taken=set())
    taken = {space.freeze(first["sample00"]).canonical_hash()}
    again = seeded_draws(space, 2, seed=3, taken=taken)
    assert again["sample00"] == first["sample01"]
    assert len(taken) == 3  # the one given and the two drawn
