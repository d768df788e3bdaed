"""The README and the documentation site's sources: the README stays short and keeps the commands CI runs, and every
link, repository path and generated-content directive of README.md and docs/ names a file that exists. (The site's
build itself, `mkdocs build --strict`, is `scripts/docs`, which CI runs.)"""
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = sorted((REPO / "docs").rglob("*.md"))
SOURCES = [README, *PAGES]

#: Markdown links and images: [text](target) and ![alt](target); the target up to a space, ")" or "#".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>#]*)(#[^)\s>]*)?>?(?:\s+\"[^\"]*\")?\s*\)")
#: Repository paths written as code: `necksearch/...`, `tests/...`, ...
CODE = re.compile(r"`([^`\s]+)`")
TOP_LEVEL = ("necksearch/", "tests/", "benchmarks/", "scripts/", "configs/", "search_spaces/", "launch/", "docs/")
#: A path that stands for many (NAME, <family>, *.py, ...) is not checked.
PLACEHOLDER = re.compile(r"[<>*{}…]|\.\.\.|\b(NAME|NNNN|N|DIR|RUN_DIR|RUNS_DIR|WORK_DIR|TEMPLATE|CONFIG)\b")
DIRECTIVE = re.compile(r"^<!-- necksearch:([a-z-]+)(?: (.*?))? -->[ \t]*$", re.MULTILINE)


def _without_code_blocks(text: str) -> str:
    return re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.MULTILINE | re.DOTALL)


def test_the_readme_is_at_most_150_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move the detail into docs/"


def test_the_readme_keeps_the_two_commands_and_ci_runs_its_test_command():
    readme = README.read_text(encoding="utf-8")
    assert "scripts/necksearch search " in readme and "scripts/test " in readme
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^exec scripts/test$", ci, re.MULTILINE), ".ci/run must end by running the README's test command"
    assert re.search(r"^scripts/docs$", ci, re.MULTILINE), ".ci/run must build the docs (strict)"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_points_at_an_existing_file(source):
    text = _without_code_blocks(source.read_text(encoding="utf-8"))
    broken = []
    for match in LINK.finditer(text):
        target = match.group(1)
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):  # an anchor on the same page, or a URL
            continue
        if not (source.parent / target).exists():
            broken.append(target)
    assert not broken, f"{source.relative_to(REPO)}: links to missing files: {broken}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_repository_path_named_in_code_exists(source):
    missing = []
    for match in CODE.finditer(source.read_text(encoding="utf-8")):
        path = match.group(1).rstrip(".,;:")
        if path.startswith(TOP_LEVEL) and not PLACEHOLDER.search(path) and not (REPO / path).exists():
            missing.append(path)
    assert not missing, f"{source.relative_to(REPO)} names files that do not exist: {sorted(set(missing))}"


def test_the_docs_directives_name_existing_files_and_render_every_results_file():
    results = REPO / "benchmarks" / "results"
    rendered, problems = set(), []
    for page in PAGES:
        for name, argument in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            words = argument.split()
            if name in ("include", "image", "docstring"):
                path = REPO / words[0]
                if not path.is_file():
                    problems.append(f"{page.relative_to(REPO)}: {name} {words[0]}: no such file")
                elif path.parent == results:
                    rendered.add(path.name)
            elif name == "files":
                found = {p.name for p in results.iterdir() if p.name.startswith(words[0])}
                if not found:
                    problems.append(f"{page.relative_to(REPO)}: files {words[0]}: no file starts so")
                rendered |= found
            elif name not in ("ops", "space-labels"):
                problems.append(f"{page.relative_to(REPO)}: unknown directive {name}")
    results_files = {p.name for p in results.iterdir()
                     if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".lock")}
    unrendered = sorted(results_files - rendered)
    assert not problems, problems
    assert not unrendered, f"benchmarks/results/ files no page under docs/results/ renders or lists: {unrendered}"
