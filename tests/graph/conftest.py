"""Graph fixtures."""
import pytest

from tests.graph.graphs import fpn_graph, pafpn_graph


@pytest.fixture
def fpn():
    return fpn_graph()


@pytest.fixture
def pafpn():
    return pafpn_graph()
