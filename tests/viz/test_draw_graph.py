"""The matplotlib renderer: PNG and SVG files, sized by the layout, with the labels in them; bad paths refused."""
import struct

import pytest

from necksearch.errors import NeckSearchError
from necksearch.graph import NeckGraph, Node
from necksearch.graph.presets import resolve_graph
from necksearch.viz import draw
from necksearch.viz.draw_graph import output_format
from tests.viz.test_graph_layout import a2fpn_like, fpt_like

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data):
    """(width, height) from the IHDR chunk."""
    return struct.unpack(">II", data[16:24])


def test_png_is_written_and_sized_by_the_layout(tmp_path):
    wide = draw("fpn", tmp_path / "fpn.png")
    tall = draw(fpt_like(), tmp_path / "fpt.png")
    assert wide == tmp_path / "fpn.png"
    fpn, fpt = wide.read_bytes(), tall.read_bytes()
    for data in (fpn, fpt):
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    (fpn_w, fpn_h), (fpt_w, fpt_h) = png_size(fpn), png_size(fpt)
    assert fpn_w > fpn_h and fpt_h > fpt_w          # 6 columns × 5 one-lane rows; 4 columns × 17 lanes
    assert fpt_h > 1.5 * fpn_h
    assert fpn_h > 600                               # 200 dpi: readable when printed


def test_svg_keeps_the_labels_as_text(tmp_path):
    path = draw(a2fpn_like(), tmp_path / "a2fpn.SVG")
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    for label in ("mgc_context", "mgc", "gacarafe", "gacap", "conv_down", "conv3x3", "C2", "C5"):
        assert f">{label}<" in text, label
    for row in ("P2", "P6", "stride 4", "stride 64", "context"):
        assert row in text, row
    for legend in ("context collector", "context distributor", "coarse→fine fusion", "fine → coarse"):
        assert legend in text, legend
    assert "a2fpn_like" in text and "Hu et al., CVPR 2021" in text


def test_svg_shows_non_default_arguments_under_the_op(tmp_path):
    graph = NeckGraph(name="mssa_pair", inputs=("c4", "c5"), outputs=("t4",), nodes=(
        Node("l4", "lateral", ("c4",)), Node("l5", "lateral", ("c5",)),
        Node("t4", "mssa", ("l4", "l5"), args={"pool_ratio": 8, "heads": 4})))
    text = draw(graph, tmp_path / "mssa.svg").read_text(encoding="utf-8")
    assert ">mssa<" in text and ">r=8<" in text and "h=4" not in text


@pytest.mark.parametrize("name, message", [
    ("fpn.pdf", "extension '.pdf'"), ("fpn", "no extension"), ("fpn.png.txt", "'.txt'"),
])
def test_other_extensions_are_refused_by_name(tmp_path, name, message):
    with pytest.raises(NeckSearchError, match=message):
        draw("fpn", tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_output_format_by_extension():
    assert output_format("a/b.png") == "png" and output_format("b.Svg") == "svg"


def test_missing_or_unwritable_directories_are_refused(tmp_path):
    with pytest.raises(NeckSearchError, match="does not exist"):
        draw("fpn", tmp_path / "missing" / "fpn.png")
    (tmp_path / "file").write_text("")
    with pytest.raises(NeckSearchError, match="is not a directory"):
        draw("fpn", tmp_path / "file" / "fpn.png")
    (tmp_path / "taken.png").mkdir()
    with pytest.raises(NeckSearchError, match="cannot write"):
        draw("fpn", tmp_path / "taken.png")


def test_a_bad_graph_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(NeckSearchError, match="unknown preset 'fpnn'"):
        draw("fpnn", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    assert resolve_graph("fpn").name == "fpn"
