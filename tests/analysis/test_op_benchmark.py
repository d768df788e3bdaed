"""benchmark_ops measures every op against the FPN step, and render_table prints the rows."""
import math

import pytest

from necksearch.analysis.op_benchmark import benchmark_ops, machine_description, render_table, run_meta
from necksearch.errors import NeckSearchError

SMALL = dict(image_hw=(128, 96), channels=16, repeats=1)
KEYS = {"name", "slot", "params", "fwd_ms", "fwdbwd_ms", "peak_mib", "fwd_ratio", "fwdbwd_ratio", "mem_ratio"}


@pytest.fixture(scope="module")
def rows():
    return benchmark_ops(names=["sum", "conv3x3", "gacarafe"], **SMALL)


def test_rows_have_the_keys_and_positive_finite_ratios(rows):
    assert [row["name"] for row in rows] == ["gacarafe", "sum", "conv3x3"]  # registry order
    for row in rows:
        assert KEYS <= set(row)
        for key in ("fwd_ms", "fwdbwd_ms", "peak_mib", "fwd_ratio", "fwdbwd_ratio", "mem_ratio"):
            assert math.isfinite(row[key]) and row[key] > 0, (row["name"], key, row[key])


def test_params_and_slots(rows):
    by_name = {row["name"]: row for row in rows}
    assert by_name["conv3x3"]["params"] == 16 * 16 * 9 + 16
    assert by_name["sum"]["params"] == 0
    assert by_name["gacarafe"]["params"] > by_name["conv3x3"]["params"]
    assert [by_name[n]["slot"] for n in ("sum", "conv3x3", "gacarafe")] == ["up", "unary", "up"]


def test_memory_ratios_order_the_ops(rows):
    by_name = {row["name"]: row for row in rows}
    # the baseline is sum then conv3x3, so it needs more than sum alone; gacarafe needs more than it
    assert by_name["sum"]["mem_ratio"] < 1
    assert by_name["gacarafe"]["mem_ratio"] > 1
    for row in rows:
        assert row["mem_ratio"] == pytest.approx(row["peak_mib"] / row["baseline_peak_mib"])


def test_roi_slot_uses_512_rois():
    (row,) = benchmark_ops(names=["srs"], **SMALL)
    # backward allocates the gradients of the four 512x16x7x7 float32 input levels: 6.1 MiB
    assert row["peak_mib"] > 512 * 16 * 49 * 4 / 2 ** 20


def test_unknown_op_is_reported():
    with pytest.raises(NeckSearchError, match="nope"):
        benchmark_ops(names=["nope"], **SMALL)


def test_render_table_has_header_and_one_line_per_row(rows):
    meta = run_meta(image_hw=(128, 96), channels=16, repeats=1)
    text = render_table(rows, meta)
    assert "128x96" in text and "level 3 (16x12)" in text and "channels 16" in text
    assert machine_description("cpu") in text
    body = [line for line in text.splitlines() if line.split()[:1] in (["sum"], ["conv3x3"], ["gacarafe"])]
    assert len(body) == 3
    assert len({len(line) for line in body}) == 1  # fixed width
