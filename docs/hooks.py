"""MkDocs hooks (``hooks:`` in mkdocs.yml): the parts of the site generated from the repository's own files.

A page asks for generated content with one directive per line, an HTML comment (invisible where GitHub renders the
page's source):

``<!-- necksearch:include PATH [shift=N] -->``
    the file at PATH (relative to the repository root) in place of the line: Markdown as it is, its headings
    moved N levels down; any other text file as a fenced block.
``<!-- necksearch:docstring PATH [lang=L] -->``
    the module docstring of the Python file at PATH, read without importing it; its ``::`` blocks fenced as
    language L (default ``text``).
``<!-- necksearch:image PATH -->``
    the image at PATH (a file of ``benchmarks/results/``), published beside the results pages.
``<!-- necksearch:files PREFIX -->``
    a list of every file of ``benchmarks/results/`` whose name starts with PREFIX, each published for download.
``<!-- necksearch:ops -->``
    the operation reference, from the built-in operations' records (``necksearch/catalogue/records.json``, read as
    JSON) and the slots of ``necksearch/catalogue/slot.py``.
``<!-- necksearch:space-labels -->``
    every label of every template (``necksearch.space.TEMPLATES``): values, default, level group, condition.

Everything is read from the torch-free layers (records, slots, templates), so building the site imports no torch:
``slot.py`` uses the standard library alone and is loaded from its file.
Every file of ``benchmarks/results/`` must be rendered or listed by some page: one that is not is a warning, which
``mkdocs build --strict`` turns into a failed build.
"""
from __future__ import annotations

import ast
import html
import importlib.util
import json
import logging
import os
import posixpath
import re
import shlex
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Set

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
#: The torch-free catalogue: the built-in operations' records.json and slot.py.
CATALOGUE = REPO / "necksearch" / "catalogue"
#: Where the files of benchmarks/results/ are published in the site.
RESULTS_URI = "results/files"
#: Files of benchmarks/results/ that are not results (the experiments' lock files).
IGNORED = re.compile(r"^\.|\.lock$")
DIRECTIVE = re.compile(r"^<!-- necksearch:([a-z-]+)(?: (.*?))? -->[ \t]*$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~)")
#: The highlighting of an included file that is not Markdown, by suffix.
LANGUAGES = {".yaml": "yaml", ".yml": "yaml", ".py": "python", ".json": "json", ".sh": "bash"}

log = logging.getLogger("mkdocs.hooks.necksearch")
_rendered: Set[str] = set()


def results_files() -> List[Path]:
    return sorted(p for p in RESULTS.iterdir() if p.is_file() and not IGNORED.search(p.name))


# ---------------------------------------------------------------------------------------------------- hook events


def on_config(config: Any) -> Any:
    # The built-in operations only: a plugin named in the environment would change the reference (and import torch).
    os.environ.pop("NECKSEARCH_PLUGINS", None)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    _rendered.clear()
    return config


def on_files(files: Files, config: Any) -> Files:
    """Publish every file of benchmarks/results/ under results/files/ but the Markdown ones (embedded in pages)."""
    for path in results_files():
        if path.suffix != ".md":
            files.append(File.generated(config, f"{RESULTS_URI}/{path.name}", abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    def expand(match: "re.Match[str]") -> str:
        name, argument = match.group(1), (match.group(2) or "").strip()
        where = f"{page.file.src_uri}: <!-- necksearch:{name} -->"
        if name == "include":
            return include(argument, where)
        if name == "docstring":
            return docstring(argument, where)
        if name == "image":
            return image(argument, page.file.src_uri, where)
        if name == "files":
            return file_list(argument, page.file.src_uri, where)
        if name == "ops":
            return ops_reference()
        if name == "space-labels":
            return space_labels()
        raise PluginError(f"{where}: unknown directive")

    return DIRECTIVE.sub(expand, markdown)


def on_env(env: Any, config: Any, files: Files) -> Any:
    missing = [p.name for p in results_files() if p.name not in _rendered]
    if missing:
        log.warning("benchmarks/results/ files that no docs page renders or lists (add them to a page under "
                    "docs/results/): " + ", ".join(missing))
    return env


# ------------------------------------------------------------------------------------------------------ directives


def _repo_file(argument: str, where: str) -> Path:
    path = (REPO / argument).resolve()
    if REPO not in path.parents or not path.is_file():
        raise PluginError(f"{where}: no file {argument!r} in the repository")
    if path.parent == RESULTS:
        _rendered.add(path.name)
    return path


def include(argument: str, where: str) -> str:
    words = shlex.split(argument)
    if not words:
        raise PluginError(f"{where}: a path is needed")
    options = dict(word.split("=", 1) for word in words[1:])
    path = _repo_file(words[0], where)
    text = path.read_text(encoding="utf-8").rstrip("\n")
    if path.suffix != ".md":
        fence = "~~~~" if "```" in text else "```"
        return f"{fence}{LANGUAGES.get(path.suffix, 'text')}\n{text}\n{fence}"
    shift = int(options.get("shift", 0))
    if shift:
        text = shift_headings(text, shift)
    return text


def docstring(argument: str, where: str) -> str:
    words = shlex.split(argument)
    if not words:
        raise PluginError(f"{where}: a path is needed")
    language = dict(word.split("=", 1) for word in words[1:]).get("lang", "text")
    path = _repo_file(words[0], where)
    text = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    if not text:
        raise PluginError(f"{where}: {argument} has no module docstring")
    out: List[str] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.rstrip().endswith("::"):
            out.append(re.sub(r"``([^`]+)``", r"`\1`", line))
            continue
        out += [re.sub(r"``([^`]+)``", r"`\1`", line.rstrip()[:-1].rstrip()) + ":", ""]
        block = []
        while index < len(lines) and (not lines[index].strip() or lines[index].startswith(" ")):
            block.append(lines[index])
            index += 1
        while block and not block[-1].strip():
            block.pop()
        out += [f"```{language}", textwrap.dedent("\n".join(block)).strip("\n"), "```", ""]
    return "\n".join(out)


def shift_headings(text: str, shift: int) -> str:
    """Move every ATX heading of ``text`` (outside fenced blocks) ``shift`` levels down, at most to level 6."""
    lines, fenced = [], False
    for line in text.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and re.match(r"^#{1,6} ", line):
            hashes = len(line) - len(line.lstrip("#"))
            line = "#" * min(6, hashes + shift) + line[hashes:]
        lines.append(line)
    return "\n".join(lines)


def _published(name: str, page_uri: str) -> str:
    """The link from the page at ``page_uri`` to the published copy of benchmarks/results/NAME."""
    return posixpath.relpath(f"{RESULTS_URI}/{name}", posixpath.dirname(page_uri) or ".")


def image(argument: str, page_uri: str, where: str) -> str:
    path = _repo_file(argument, where)
    if path.parent != RESULTS:
        raise PluginError(f"{where}: images are published from benchmarks/results/ only")
    return f"![{path.name}]({_published(path.name, page_uri)})"


def file_list(prefix: str, page_uri: str, where: str) -> str:
    found = [p for p in results_files() if p.name.startswith(prefix)]
    if not prefix or not found:
        raise PluginError(f"{where}: no file of benchmarks/results/ starts with {prefix!r}")
    rows = []
    for path in found:
        _rendered.add(path.name)
        size = path.stat().st_size
        size_text = f"{size / 1024:.1f} KiB" if size >= 1024 else f"{size} bytes"
        name = f"`benchmarks/results/{path.name}`"
        if path.suffix == ".md":
            rows.append(f"- {name} ({size_text}; its text is rendered on these pages)")
        else:
            rows.append(f"- [{name}]({_published(path.name, page_uri)}) ({size_text})")
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------- the op reference


def _code(value: Any) -> str:
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _number(value: Any) -> str:
    return "…" if value is None else f"{value:g}"


def _arg_range(arg: Dict[str, Any]) -> str:
    parts = []
    if arg.get("choices"):
        parts.append(", ".join(f"`{choice}`" for choice in arg["choices"]))
    if arg.get("low") is not None or arg.get("high") is not None:
        parts.append(f"{'(' if arg.get('low_open') else '['}{_number(arg.get('low'))}, {_number(arg.get('high'))}"
                     f"{')' if arg.get('high_open') else ']'}")
    if arg.get("odd"):
        parts.append("odd")
    if arg.get("length") is not None:
        parts.append(f"length {arg['length']}")
    if arg.get("nullable"):
        parts.append("or `null`")
    return "; ".join(parts)


def _cell(text: str) -> str:
    """``text`` for one line or table cell: HTML escaped, reST ``literals`` as Markdown code, pipes escaped."""
    text = re.sub(r"``([^`]+)``", r"`\1`", html.escape(text, quote=False))
    return text.replace("|", "\\|").replace("\n", " ")


def _plain(value: Any) -> str:
    """A condition's value as a space file writes it."""
    return value if isinstance(value, str) else json.dumps(value)


#: What the op reference shows of a record (the keys of records.json's entries; a field left out is at its default).
RECORD_KEYS = {"name", "slot", "paper", "summary", "module", "args", "variadic", "same_width", "orthogonal_loss",
               "plain", "width_scaled", "input_bounded", "input_count", "top_ratio", "unused_when", "detector_field",
               "target_as_query", "revision"}
#: ... and of a hyper-parameter (the fields of ``necksearch.catalogue.domain.Domain`` an operation's may have).
ARG_KEYS = {"type", "default", "low", "high", "low_open", "high_open", "odd", "choices", "length", "nullable"}
#: The boolean fields of a record, in words.
FLAGS = {"variadic": "variadic: a node of it takes 2 or more inputs, its sources at any level",
         "same_width": "keeps its input's width",
         "orthogonal_loss": "carries A²-FPN's orthogonal loss (weighted by `mgc_orthogonal_weight`)",
         "plain": "one of FPN's own ops (left out of one-line graph summaries)",
         "target_as_query": "takes its target only as queries: a top-down step keeps the target beside it "
                            "(concat), as FPT concatenates GT's output with the original map"}


def load_slots(path: Path) -> Dict[str, Any]:
    """``SLOTS`` of ``slot.py``, loaded from its file alone (it needs the standard library only: no package
    ``__init__``, no torch)."""
    name = "_necksearch_docs_slot"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is created
        spec.loader.exec_module(module)
    return sys.modules[name].SLOTS


def ops_reference() -> str:
    records = json.loads((CATALOGUE / "records.json").read_text(encoding="utf-8"))
    slots = load_slots(CATALOGUE / "slot.py")
    unknown = sorted({key for r in records for key in r} - RECORD_KEYS) + sorted(
        {key for r in records for arg in r["args"].values() for key in arg} - ARG_KEYS)
    if unknown:
        log.warning(f"records.json has fields the op reference does not show: {unknown} (docs/hooks.py: RECORD_KEYS, "
                    "ARG_KEYS)")
    by_slot: Dict[str, list] = {}
    for record in records:
        by_slot.setdefault(record["slot"], []).append(record)
    strays = sorted(set(by_slot) - set(slots))
    if strays:
        raise PluginError(f"records.json names slots that necksearch/catalogue/slot.py does not define: {strays}")
    out = [f"{len(records)} built-in operations in {len(by_slot)} slots.", "",
           "| operation | slot | source |", "|---|---|---|"]
    for record in records:
        out.append(f"| [`{record['name']}`](#op-{record['name']}) | [{record['slot']}](#slot-{record['slot']}) | "
                   f"{_cell(record['paper'])} |")
    for name, slot in slots.items():
        members = by_slot.get(name, [])
        if not members:
            continue
        structural = ", ".join(f"`{arg}` ({source})" for arg, source in slot.structural)
        fewest, most = slot.arity or (None, None)
        out += ["", f"## {name} {{#slot-{name}}}", "", f"{slot.description[0].upper()}{slot.description[1:]}.", "",
                f"- Call: `{slot.signature}`",
                f"- Structural arguments (set by shape inference, never hyper-parameters): {structural}",
                "- Inputs of a graph node: " + (
                    "not a graph node (selected by `detector.roi_extractor`)" if slot.arity is None else
                    f"{fewest}" if fewest == most else f"{fewest} to {'any number' if most is None else most}")]
        if slot.width_arg:
            out.append(f"- A node may set its width with `{slot.width_arg}` (the graph's width otherwise)")
        for record in members:
            out += ["", f"### {record['name']} {{#op-{record['name']}}}", "", _cell(record["summary"]), "",
                    f"- Source: {_cell(record['paper'])}", f"- Module: `{record['module']}`"]
            out += [f"- {text}" for field, text in FLAGS.items() if record.get(field)]
            if record.get("width_scaled"):
                out.append("- Scaled with the pyramid's width: " + ", ".join(f"`{a}`" for a in record["width_scaled"]))
            if record.get("input_bounded"):
                out.append(f"- `{record['input_bounded']}`: per level, at most the width of the backbone input read")
            if record.get("detector_field"):
                out.append(f"- Applied to every neck output by the detector choice `{record['detector_field']}`, "
                           "whose value holds its arguments")
            if record.get("revision"):
                out.append(f"- Revision {record['revision']} of its computation: graphs with it hash apart from "
                           "trainings of an earlier one")
            set_by = {record.get("input_count"): "the node's number of inputs, filled in by the graph; never searched",
                      record.get("top_ratio"): "2^(top − l) at a node of level l, set by the template; never searched"}
            unused = {}
            for arg_name, other, value in record.get("unused_when", ()):
                unused.setdefault(arg_name, []).append(f"unused when `{other}` is {_code(value)}")
            if record["args"]:
                out += ["", "| hyper-parameter | type | default | values |", "|---|---|---|---|"]
                for arg_name, arg in record["args"].items():
                    notes = [_arg_range(arg), set_by.get(arg_name, ""), *unused.get(arg_name, [])]
                    out.append(f"| `{arg_name}` | {arg['type']} | {_code(arg['default'])} | "
                               f"{'; '.join(n for n in notes if n)} |")
            else:
                out += ["", "No hyper-parameters."]
    return "\n".join(out)


# -------------------------------------------------------------------------------------------- the template labels


def _condition(param: Any) -> str:
    def one(label: str, values: Any) -> str:
        return f"`{label}` is " + " or ".join(f"`{v}`" for v in sorted(_plain(v) for v in values))

    parts = [one(label, values) for label, values in param.when]
    for level, conditions in sorted(param.level_when.items()):
        parts += [f"at p{level}: {one(label, values)}" for label, values in conditions]
    return "; ".join(parts)


def space_labels() -> str:
    try:
        from necksearch.space import TEMPLATES
    except Exception as error:  # a broken package fails the build with the cause, not a traceback of mkdocs
        raise PluginError(f"<!-- necksearch:space-labels -->: cannot import necksearch.space.TEMPLATES: "
                          f"{type(error).__name__}: {error}") from error

    out: List[str] = []
    for template in TEMPLATES.values():
        out += ["", f"### `{template.name}` {{#template-{template.name}}}", "",
                f"{_cell(template.doc)}. {len(template.params)} generic labels.", "",
                "| label | values | default | per-level group | asked when | meaning |", "|---|---|---|---|---|---|"]
        for param in template.params:
            group = f"`{param.group}` (p{', p'.join(str(l) for l in param.levels)})" if param.group else ""
            out.append(f"| `{param.name}` | {_cell(param.domain.describe())} | {_code(param.default)} | {group} | "
                       f"{_cell(_condition(param))} | {_cell(param.doc)} |")
    return "\n".join(out).lstrip("\n")
