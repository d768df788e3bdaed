"""Rules over the whole package's source: user errors are raised, never asserted (``python -O`` strips asserts,
and a bare ``AssertionError`` names nothing); no private state of Ray Tune's ``OptunaSearch`` is reached
into (necksearch's searcher is written on Tune's public ``Searcher`` API and Optuna's ask/tell); and a graph
given by name, path or dict is resolved only at the edges, so that inside the package only ``NeckGraph``
travels."""
import ast
from pathlib import Path

import pytest

import necksearch

PACKAGE = Path(necksearch.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
OPTUNA_SEARCH_PRIVATE = {"_ot_study", "_ot_trials", "_completed_trials"}
#: Where ``resolve_graph`` (a graph from a NeckGraph, dict, preset name or file) may run: the command line, the
#: modules built from mmdet config dicts (GraphNeck, SuperNeck, a config's own ``neck.graph``), and the public
#: functions that users call with a preset name (``count_neck("a2fpn")``, ``detector_from_graph("augfpn", ...)``,
#: ``draw("fpn", "fpn.png")``, ``train(graph="fpn")``). Everything else takes a ``NeckGraph``.
GRAPH_EDGES = {"graph/presets.py", "cli.py", "search/fidelity.py", "nn/graph_neck.py", "nn/super_neck.py",
               "train/configs.py", "train/recipe.py", "mmdet/config.py", "mmdet/laterals.py", "analysis/complexity.py",
               "analysis/latency.py", "viz/draw_graph.py"}


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_package_has_sources():
    assert len(SOURCES) > 50


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_bare_assert(path):
    lines = [node.lineno for node in ast.walk(_tree(path)) if isinstance(node, ast.Assert)]
    assert not lines, f"{path}: assert statements at lines {lines}; raise an error that names what is wrong"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_state_of_ray_optuna_search(path):
    used = sorted({(node.attr, node.lineno) for node in ast.walk(_tree(path))
                   if isinstance(node, ast.Attribute) and node.attr in OPTUNA_SEARCH_PRIVATE})
    assert not used, f"{path}: private attributes of OptunaSearch {used}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_graphs_are_resolved_only_at_the_edges(path):
    calls = [node.lineno for node in ast.walk(_tree(path)) if isinstance(node, ast.Call)
             and getattr(node.func, "id", getattr(node.func, "attr", None)) == "resolve_graph"]
    where = path.relative_to(PACKAGE).as_posix()
    assert where in GRAPH_EDGES or not calls, f"{path}: resolve_graph at lines {calls}; take a NeckGraph instead"


#: The search package's layers, lowest first: a module imports (at any depth of its code) only from its own layer
#: or those before it; the commands (``search/*.py``) may import anything.
SEARCH_LAYERS = ("core", "cost", "rank", "engine")


def _search_layer(module: str) -> int:
    parts = module.split(".")
    if parts[:2] != ["necksearch", "search"] or len(parts) < 3:
        return -1  # not the search package: below every layer
    return SEARCH_LAYERS.index(parts[2]) if parts[2] in SEARCH_LAYERS else len(SEARCH_LAYERS)


@pytest.mark.parametrize("path", sorted((PACKAGE / "search").rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_search_layers_import_only_downwards(path):
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    mine = _search_layer(module)
    upward = []
    for node in ast.walk(_tree(path)):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module == "necksearch.search":
            names = [f"necksearch.search.{alias.name}" for alias in node.names]
        upward += [(name, node.lineno) for name in names if _search_layer(name) > mine]
    assert not upward, f"{path} (layer {mine}) imports from a higher layer: {upward}"
