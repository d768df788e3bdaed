"""The ``necksearch`` command line: ops listing and error handling."""
import json
import subprocess
import sys

import pytest

from necksearch.cli import main

#: Every operation the issue names (the slots of components.md), by registry name.
NAMED_IN_ISSUE = {
    "lateral", "mgc_context", "mgc", "rfa",                                   # lateral extraction
    "sum", "concat", "carafe", "gacarafe", "mssa", "msca", "gt", "lgt",      # coarse→fine
    "strided_conv_sum", "cap", "gacap", "rt",                                # fine→coarse
    "conv3x3", "st", "dropblock",                                            # unary
    "srs",                                                                   # RoI side
}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "necksearch", *args], capture_output=True, text=True, timeout=300)


def test_ops_json_lists_every_operation_named_in_the_issue():
    result = run_cli("ops", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    names = {entry["name"] for entry in listed}
    assert NAMED_IN_ISSUE <= names
    for entry in listed:
        assert {"name", "slot", "paper", "defaults"} <= set(entry)
    gacarafe = next(e for e in listed if e["name"] == "gacarafe")
    assert gacarafe["slot"] == "up" and "A2-FPN" in gacarafe["paper"]
    assert gacarafe["defaults"] == {"up_kernel": 5, "encoder_kernel": 3, "compressed_channels": 64, "gate": "2sigmoid"}


def test_ops_text_shows_slots_papers_and_defaults(capsys):
    assert main(["ops", "--slot", "unary"]) == 0
    out = capsys.readouterr().out
    assert "st " in out and "FPT (Zhang et al., ECCV 2020)" in out and "num_parts=2" in out
    assert "gacarafe" not in out


@pytest.mark.parametrize("argv, message", [
    (["bench", "ops", "--ops", "sum,gacarafee"], "unknown operation 'gacarafee'"),
    (["bench", "ops", "--image", "32", "32"], "--image must be at least 64"),
])
def test_user_mistakes_exit_2_with_one_line_naming_the_value(argv, message):
    result = run_cli(*argv)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_presets_json_lists_every_shipped_preset_and_found_neck_with_its_kind_and_paper():
    from necksearch.graph.presets import PUBLISHED_NECKS, list_found_necks, list_presets, load_preset
    result = run_cli("presets", "--json")
    assert result.returncode == 0, result.stderr
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert set(listed) == set(list_presets()) | set(list_found_necks()) and "found_fpt_gt_rt_srs" in listed
    assert {name for name, entry in listed.items() if entry["kind"] == "published"} == set(PUBLISHED_NECKS)
    assert listed["fpt_gt_rt"]["kind"] == "ablation" and listed["found_fpt_gt_rt_srs"]["kind"] == "found"
    assert "campaign-tpe-s0 trial 468" in listed["found_fpt_gt_rt_srs"]["paper"]
    assert "A2-FPN" in listed["a2fpn"]["paper"] and "gacap" in listed["a2fpn"]["ops"]
    assert listed["augfpn"]["detector"]["roi_extractor"] == "srs"
    assert listed["fpn"]["hash"] == load_preset("fpn").canonical_hash()


def test_presets_text_has_one_line_per_preset_then_per_found_neck(capsys):
    from necksearch.graph.presets import PUBLISHED_NECKS, list_found_necks, list_presets
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list_presets() + list_found_necks()
    kinds = {line.split()[0]: line.split()[1] for line in lines}
    assert {name for name, kind in kinds.items() if kind == "published"} == set(PUBLISHED_NECKS)
    assert {name for name, kind in kinds.items() if kind == "found"} == set(list_found_necks())
    assert kinds["fpt_gt_rt"] == "ablation"
