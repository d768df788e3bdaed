"""Rules over the whole package's source: user errors are raised, never asserted (``python -O`` strips asserts,
and a bare ``AssertionError`` names nothing), and no private state of Ray Tune's ``OptunaSearch`` is reached
into (necksearch's searcher is written on Tune's public ``Searcher`` API and Optuna's ask/tell)."""
import ast
from pathlib import Path

import pytest

import necksearch

PACKAGE = Path(necksearch.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
OPTUNA_SEARCH_PRIVATE = {"_ot_study", "_ot_trials", "_completed_trials"}


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
