"""Property tests: random points of every shipped space freeze to valid graphs that decode back, replay
through Optuna, and corrupted space files only ever raise SpaceError."""
import copy

import optuna
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optuna.trial import FixedTrial

from necksearch.graph import NeckGraph
from necksearch.space import SearchSpace, SpaceError, parse_space

from tests.space.helpers import SPACE_NAMES, DrawTrial, space, space_text

PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", SPACE_NAMES)
@PROPERTY
@given(data=st.data())
def test_random_samples_freeze_to_valid_graphs_that_decode_and_replay(name, data):
    s = space(name)
    sample = s.suggest(DrawTrial(data))
    graph = s.freeze(sample)
    assert isinstance(graph, NeckGraph)
    graph.validate()
    assert set(sample) <= set(s.labels())
    assert s.freeze(s.suggest(FixedTrial(sample))).canonical_hash() == graph.canonical_hash()
    decoded = s.sample_of(graph)
    assert s.freeze(decoded).canonical_hash() == graph.canonical_hash()
    assert decoded == sample  # the shipped spaces are injective: one sample per architecture
    assert s.contains(graph)


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_an_optuna_study_with_a_seeded_random_sampler_samples_valid_graphs(name):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = space(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7))
    hashes = set()
    for _ in range(20):
        trial = study.ask()
        graph = s.freeze(s.suggest(trial))
        graph.validate()
        hashes.add(graph.canonical_hash())
        study.tell(trial, 0.0)
    assert len(hashes) > 1
    for label, dist in s.labels().items():  # every searched label has one Optuna distribution
        assert dist.to_optuna() is not None, label


# ------------------------------------------------------------------------------------ corrupted files

def _base(name: str) -> dict:
    data = yaml.safe_load(space_text(name))
    data.pop("presets", None)  # keep each example fast; the preset check has its own tests
    return data


def _paths(tree, prefix=()):
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _paths(value, prefix + (index,))


def _set(tree, path, value):
    if not path:
        return value
    tree = copy.deepcopy(tree)
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


def _delete(tree, path):
    tree = copy.deepcopy(tree)
    node = tree
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return tree


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=8), st.just([]), st.just({}), st.just([1, "a"]), st.just({"x": 1}),
                 st.just({"type": "int", "low": 5, "high": 1}), st.just({"choices": []}))


def _loads_or_space_error(text: str) -> None:
    try:
        result = parse_space(text, "fuzz.yaml")
    except SpaceError as error:
        assert "fuzz.yaml" in str(error)
        return
    assert isinstance(result, SearchSpace)


@PROPERTY
@given(name=st.sampled_from(SPACE_NAMES), data=st.data())
def test_deleting_a_key_either_loads_or_raises_space_error(name, data):
    base = _base(name)
    path = data.draw(st.sampled_from([p for p in _paths(base) if p]))
    _loads_or_space_error(yaml.safe_dump(_delete(base, path)))


@PROPERTY
@given(name=st.sampled_from(SPACE_NAMES), data=st.data(), junk=JUNK)
def test_replacing_a_value_by_junk_either_loads_or_raises_space_error(name, data, junk):
    base = _base(name)
    path = data.draw(st.sampled_from(list(_paths(base))))
    _loads_or_space_error(yaml.safe_dump(_set(base, path, junk), allow_unicode=True))


@PROPERTY
@given(name=st.sampled_from(SPACE_NAMES), data=st.data(), low=st.integers(-3, 9), gap=st.integers(1, 4))
def test_an_inverted_range_anywhere_raises_space_error(name, data, low, gap):
    base = _base(name)
    label = data.draw(st.sampled_from(sorted(base["parameters"])))
    kind = data.draw(st.sampled_from(["int", "float"]))
    base["parameters"][label] = {"type": kind, "low": low + gap, "high": low}
    with pytest.raises(SpaceError, match=f"fuzz.yaml: key 'parameters.{label}"):
        parse_space(yaml.safe_dump(base), "fuzz.yaml")


@PROPERTY
@given(name=st.sampled_from(SPACE_NAMES), cut=st.floats(0.0, 1.0))
def test_a_truncated_file_either_loads_or_raises_space_error(name, cut):
    text = space_text(name)
    text = text[:text.index("\npresets:")]  # leave out the (slow, separately tested) preset check
    _loads_or_space_error(text[:int(len(text) * cut)])


@PROPERTY
@given(text=st.text(max_size=200))
def test_random_text_raises_space_error(text):
    with pytest.raises(SpaceError, match="fuzz.yaml"):
        parse_space(text, "fuzz.yaml")


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_corrupting_the_augfpn_space_with_its_presets_checked_only_raises_space_error(data):
    base = yaml.safe_load(space_text("augfpn"))
    path = data.draw(st.sampled_from([p for p in _paths(base) if p]))
    _loads_or_space_error(yaml.safe_dump(_delete(base, path)))
