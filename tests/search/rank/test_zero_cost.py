"""--screen: ranking by a score (NaN and ±inf never ranked) and the supernet screen's refusals before Ray starts."""
import math
import re

import pytest

from necksearch.search.rank.zero_cost import rank_candidates
from necksearch.search.core.rankers import parse_screen
from tests.search.helpers import cli_error


def test_non_finite_scores_are_kept_but_never_ranked():
    candidates = {name: {"scores": {"zico": value}} for name, value in
                  (("a", 1.0), ("b", math.nan), ("c", 3.0), ("d", math.inf), ("e", -math.inf), ("f", 2.0))}
    assert rank_candidates(candidates, "zico") == ["c", "f", "a"]


def test_low_grad_norm_ranks_the_smallest_gradient_norms_first_and_never_a_non_finite_one():
    candidates = {name: {"scores": {"grad_norm": value, "zico": 0.0}} for name, value in
                  (("a", 5.0), ("b", math.nan), ("c", 1.0), ("d", math.inf), ("e", 3.0))}
    assert parse_screen("low_grad_norm:50") == ("low_grad_norm", 50)
    assert rank_candidates(candidates, "low_grad_norm") == ["c", "e", "a"]
    assert rank_candidates(candidates, "grad_norm") == ["a", "e", "c"]


def test_supernet_is_a_screen_ranker():
    assert parse_screen("supernet:100") == ("supernet", 100)


@pytest.mark.parametrize("argv, message", [
    (["--screen", "supernet:5"], r"templates pyramid, fpt: a supernet shares weights .* give --template"),
    (["--screen", "supernet:5", "--template", "nas"], r"no template 'nas'"),
    (["--template", "fpt"], r"--template chooses the supernet of --screen supernet:N"),
    (["--screen", "supernet:5", "--template", "fpt", "--objectives", "map,latency"], r"drop latency"),
    (["--screen", "supernet:5", "--template", "fpt", "--supernet-epochs", "0"], r"--supernet-epochs must be"),
])
def test_a_supernet_screen_it_cannot_run_is_refused_before_ray(capsys, no_ray, tmp_path, argv, message):
    line = cli_error(capsys, "search", "--name", "s", "--runs-dir", tmp_path, *argv)
    assert re.search(message, line), line
    assert not (tmp_path / "s").exists()
