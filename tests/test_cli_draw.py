"""``necksearch draw NAME|PATH -o FILE``: writes the picture and prints its path; mistakes exit 2 with one line."""
import subprocess
import sys

import pytest

from necksearch.cli import main
from necksearch.graph.presets import list_presets

#: The richest preset there is (A²-FPN: context band, extra level, both fusion directions).
PRESET = "a2fpn" if "a2fpn" in list_presets() else "pafpn"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "necksearch", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_draw_writes_a_png_and_prints_its_path(tmp_path):
    result = run_cli("draw", PRESET, "-o", "x.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "x.png"
    data = (tmp_path / "x.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


def test_draw_reads_a_graph_file_and_writes_svg(tmp_path, capsys):
    from necksearch.graph.presets import resolve_graph
    source = tmp_path / "mine.yaml"
    source.write_text(resolve_graph("fpn").to_yaml(), encoding="utf-8")
    out = tmp_path / "mine.svg"
    assert main(["draw", str(source), "--output", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert ">maxpool_down<" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("graph, output, message", [
    ("fpnn", "x.png", "unknown preset 'fpnn'"),
    ("{tmp}/missing.yaml", "x.png", "cannot read the graph file"),
    ("{tmp}/broken.yaml", "x.png", "broken.yaml"),
    ("fpn", "x.pdf", "extension '.pdf'"),
    ("fpn", "{tmp}/no/such/dir/x.png", "does not exist"),
    ("fpn", "{tmp}/broken.yaml/x.png", "is not a directory"),
])
def test_mistakes_exit_2_with_one_line(tmp_path, capsys, graph, output, message):
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    argv = ["draw", graph.format(tmp=tmp_path), "-o", str(tmp_path / output.format(tmp=tmp_path))]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("necksearch: error: ") and message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.pdf").exists()


def test_a_mistake_from_the_shell_exits_2_without_a_traceback(tmp_path):
    result = run_cli("draw", "fpn", "-o", str(tmp_path / "fpn.jpg"))
    assert result.returncode == 2
    assert result.stderr.startswith("necksearch: error: ") and "'.jpg'" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
