"""The graph layer is pure data: importing it loads no torch and none of the operations (only their records,
from the catalogue)."""
from tests.helpers import modules_after


def test_importing_necksearch_graph_does_not_import_torch():
    loaded = modules_after("import necksearch.graph, necksearch.graph.graph, necksearch.space")
    assert [m for m in loaded if m.split(".")[0] in ("torch", "torchvision") or m.startswith("necksearch.ops")] == []
