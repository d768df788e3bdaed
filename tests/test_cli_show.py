"""``necksearch show``: the graph in words with neck and detector parameters and MACs."""
import json
import subprocess
import sys

import pytest

from necksearch.cli import main
from necksearch.graph.presets import load_preset


def test_show_json_has_the_counts_of_the_paper_protocol(capsys):
    assert main(["show", "fpn", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"name", "paper", "hash", "protocol", "input", "neck_params", "neck_flops",
            "detector_params", "detector_flops"} <= set(report)
    assert report["name"] == "fpn" and report["protocol"] == "paper" and report["input"] == [1280, 832]
    assert report["hash"] == load_preset("fpn").canonical_hash()
    assert report["neck_params"] == 3_344_384 and report["detector_params"] == 44_170_992
    assert report["neck_flops"] == pytest.approx(60.36e9, rel=2e-4)
    assert report["detector_flops"] == pytest.approx(267.86e9, rel=1e-4)
    assert report["flops_unit"] == "MACs"


def test_show_full_protocol_and_image_size(capsys):
    assert main(["show", "a2fpn_lite", "--protocol", "full", "--image", "640", "416", "--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert main(["show", "a2fpn_lite", "--image", "640", "416", "--json"]) == 0
    paper = json.loads(capsys.readouterr().out)
    assert full["protocol"] == "full" and full["input"] == [640, 416]
    assert full["neck_flops"] > paper["neck_flops"]               # MGC attention matmuls
    assert full["detector_params"] > paper["detector_params"]     # frozen backbone layers counted
    assert full["neck_params"] == paper["neck_params"]


def test_show_text_prints_the_graph_and_human_readable_counts(capsys):
    assert main(["show", "pafpn"]) == 0
    captured = capsys.readouterr()
    assert "pafpn: c2 c3 c4 c5 -> p2 n3 n4 n5 n6, 256 channels" in captured.out
    assert "b3 = strided_conv_sum(p3, p2) @ P3 ×256" in captured.out
    assert "6.885 M params" in captured.out and "86.14 G MACs" in captured.out
    assert "47.711 M params" in captured.out and "293.62 G MACs" in captured.out
    assert "[show" in captured.err                                 # progress goes to stderr


def test_show_reads_a_graph_file(tmp_path, capsys):
    path = tmp_path / "mine.json"
    path.write_text(load_preset("fpn").to_json())
    assert main(["show", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["neck_params"] == 3_344_384


@pytest.mark.parametrize("argv, message", [
    (["show", "no_such_preset"], "unknown preset 'no_such_preset'"),
    (["show", "missing.yaml"], "missing.yaml: cannot read the graph file"),
    (["show", "fpn", "--image", "32", "32"], "at least 64"),
])
def test_show_mistakes_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("necksearch: error: ") and message in err


def test_show_bad_graph_file_exits_2_without_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nnodes:\n  - {name: l2, op: lateral, inputs: [c9]}\noutputs: [l2]\n")
    result = subprocess.run([sys.executable, "-m", "necksearch", "show", str(path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.startswith("necksearch: error: ") and "Traceback" not in result.stderr
