"""necksearch/search/cost/rank_fidelity.json, what a search's report prints about its fidelity and its screening ranker,
recomputed from the committed results in benchmarks/results/ by the functions that wrote it: every entry, at the
stored rounding, and no entry without a committed source.

Sources: the measurements from the fidelity runs' ``fidelity_results.json`` (grid2, the default fidelity:
``rank_fidelity_grid2.json``; grid1, half the data: ``rank_fidelity.json``) through ``fidelity.summarise``; the
zero-cost rankers from the judgements' ``zero_cost_results.json`` (grid2: ``zero_cost.json``, grid1:
``zero_cost_grid1.json``, heldout1: ``zero_cost_heldout1.json``, where only ``low_grad_norm`` is recorded: its sign
was chosen on grid2) through ``judge.zero_cost_entries``; the supernet per template from ``supernet_results.json``
(grid1: ``supernet.json``; at the default fidelity grid2's and heldout1's pooled, ``supernet_grid2.json`` +
``supernet_heldout1.json``) through ``judge.supernet_entries``. Every τ and ρ is computed again from the
scores and mAPs the files hold, not read from their ``correlation``."""
import json
from pathlib import Path

import pytest

from necksearch.search.cost import measured
from necksearch.search.fidelity import FidelitySettings, summarise
from necksearch.train.fidelity import Fidelity
from necksearch.search.rank.statistics import rank_correlation
from necksearch.search.core.rankers import LOWEST_FIRST, SCORES
from necksearch.search.rank.zero_cost import ranking_value
from necksearch.search.judge import zero_cost_entries
from necksearch.search.judge import correlations, pool_supernet_results
from necksearch.search.judge import supernet_entries

RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results"
MEASURED_FROM = ("rank_fidelity_grid2.json", "rank_fidelity.json")
#: zero-cost judgement → the rankers of it that rank_fidelity.json records
ZERO_COST_FROM = {"zero_cost.json": SCORES, "zero_cost_grid1.json": SCORES,
                  "zero_cost_heldout1.json": ("low_grad_norm",)}
#: the supernet judgements of one fidelity that rank_fidelity.json pools
SUPERNET_FROM = (("supernet.json",), ("supernet_grid2.json", "supernet_heldout1.json"))
#: what an entry is looked up by (``measured.ranker_measured``)
KEY = ("ranker", "template", *measured.MATCHED)


def _load(name):
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


def _stored():
    return json.loads(measured.MEASURED_FILE.read_text(encoding="utf-8"))


def _without_note(entry):
    return {key: value for key, value in entry.items() if key != "note"}


def _by_key(entries):
    keyed = {tuple(entry.get(key) for key in KEY): _without_note(entry) for entry in entries}
    assert len(keyed) == len(entries), "two entries for one ranker, template, recipe and fidelity"
    return keyed


# ---------------------------------------------------------------------------------------------- measurements


def _fidelity_run(name):
    """The fidelity run's results recomputed from its raw per-seed mAPs (``raw``: graph → level → seed → mAP)."""
    results = _load(name)
    settings = FidelitySettings(low=Fidelity.of(results["fidelities"]["low"]),
                                high=Fidelity.of(results["fidelities"]["high"]),
                                seeds=results["seeds"]["low"], high_seeds=results["seeds"]["high"],
                                config=results["config"], space=results["space"])
    table = {graph: {level: {int(seed): value for seed, value in by_seed.items()} for level, by_seed in levels.items()}
             for graph, levels in results["raw"].items()}
    return results, summarise(table, settings)


@pytest.mark.parametrize("name", MEASURED_FROM)
def test_a_fidelity_run_s_results_recompute_from_its_raw_maps(name):
    stored, again = _fidelity_run(name)
    for level in ("low", "high"):
        assert again["seed_noise"][level] == pytest.approx(stored["seed_noise"][level], abs=1e-12)
        assert again["seed_to_seed"][level]["tau"] == pytest.approx(stored["seed_to_seed"][level]["tau"], abs=1e-12)
    assert again["low_to_high"]["tau"] == pytest.approx(stored["low_to_high"]["tau"], abs=1e-12)
    assert again["measurements"] == stored["measurements"]


def test_every_measurement_recomputes_from_the_committed_fidelity_runs():
    recomputed = [entry for name in MEASURED_FROM for entry in _fidelity_run(name)[1]["measurements"]]
    assert _stored()["measurements"] == recomputed


# ---------------------------------------------------------------------------------------------- rankers


def _zero_cost_recomputed(name, rankers):
    """The judgement's ``rankers`` entries, every τ and ρ computed again from its scores and mean mAPs."""
    results = _load(name)
    names = list(results["mean_map"])
    truth = [results["mean_map"][n] for n in names]
    correlation = {ranker: {seed: rank_correlation([ranking_value(scored[n], ranker) for n in names], truth)
                            for seed, scored in results["scores"].items()} for ranker in rankers}
    for ranker, by_seed in correlation.items():  # the file's own record agrees
        for seed, agreement in by_seed.items():
            assert agreement == pytest.approx(results["correlation"][ranker][seed], abs=1e-12), (name, ranker, seed)
    return zero_cost_entries({**results, "correlation": correlation})


def _supernet_recomputed(names):
    judgements = [_load(name) for name in names]
    for judgement in judgements:  # the file's own record agrees
        again = correlations(judgement["mean_map"], judgement["supernet_map"], judgement["params"],
                             judgement["templates"])
        assert again.keys() == judgement["correlation"].keys()
        for ranker, agreement in again.items():
            assert agreement == pytest.approx(judgement["correlation"][ranker], abs=1e-12), ranker
    return supernet_entries(judgements[0] if len(judgements) == 1 else pool_supernet_results(judgements))


def test_every_ranker_entry_recomputes_from_the_committed_judgements():
    recomputed = [entry for name, rankers in ZERO_COST_FROM.items() for entry in _zero_cost_recomputed(name, rankers)]
    recomputed += [entry for names in SUPERNET_FROM for entry in _supernet_recomputed(names)]
    stored, again = _by_key(_stored()["rankers"]), _by_key(recomputed)
    assert sorted(stored) == sorted(again), "an entry without a committed source, or a source without its entry"
    for key, entry in stored.items():
        assert entry == again[key], key


def test_the_pooled_supernet_entries_are_grid2_s_and_heldout1_s_graphs_together():
    """17 pyramid and 11 fpt graphs at the default fidelity: 11 + 6 and 5 + 6."""
    grid2, heldout1 = _load("supernet_grid2.json"), _load("supernet_heldout1.json")
    pooled = pool_supernet_results([grid2, heldout1])
    for template in ("pyramid", "fpt"):
        assert len(pooled["templates"][template]) == len(grid2["templates"][template]) + len(
            heldout1["templates"][template])
    assert pooled["correlation"]["supernet"]["n"] == 28
    # supernet.md's "all 28 graphs: +0.25 (ρ +0.33); parameter count −0.20"
    assert round(pooled["correlation"]["supernet"]["tau"], 2) == 0.25
    assert round(pooled["correlation"]["supernet"]["rho"], 2) == 0.33
    assert round(pooled["correlation"]["params"]["tau"], 2) == -0.20


def test_the_low_grad_norm_note_s_numbers_recompute():
    """Its note: "the parameter count -0.05 there; on grid2's 16 ... +0.37; over all 28, +0.32 against -0.20"."""
    grid2, heldout1 = _load("zero_cost.json"), _load("zero_cost_heldout1.json")

    def tau(judgements, ranker):
        """τ over the judgements' graphs together, the mean over the initialisation seeds, to 2 decimals."""
        graphs = [(j, n) for j in judgements for n in j["mean_map"]]
        truth = [j["mean_map"][n] for j, n in graphs]
        taus = [rank_correlation([ranking_value(j["scores"][seed][n], ranker) for j, n in graphs], truth)["tau"]
                for seed in judgements[0]["scores"]]
        return round(sum(taus) / len(taus), 2)
    assert tau([heldout1], "params") == -0.05
    assert tau([grid2], "low_grad_norm") == 0.37
    assert tau([grid2, heldout1], "low_grad_norm") == 0.32
    assert tau([grid2, heldout1], "params") == -0.20
    assert "low_grad_norm" in LOWEST_FIRST


def test_the_rung_noise_entry_recomputes_from_the_per_seed_curves():
    """rung_noise's per-epoch seed std is the pooled std over rung_noise.json's raw per-seed mAP curves."""
    from necksearch.search.rank.statistics import pooled_std
    committed = json.loads((RESULTS / "rung_noise.json").read_text())
    curves = [list(by_seed.values()) for by_seed in _raw_curves(committed["raw"])]
    (entry,) = json.loads(measured.MEASURED_FILE.read_text())["rung_noise"]
    for epoch, std in entry["by_epoch"].items():
        recomputed = pooled_std([[curve[int(epoch) - 1] for curve in graph] for graph in curves])
        assert std == round(recomputed, 4), epoch
    assert entry["graphs"] == len(curves)


def _raw_curves(raw):
    """Per graph: seed → its mAP after each epoch, from rung_noise.json's ``raw`` section."""
    return [{seed: cell["map_by_epoch"] for seed, cell in graph.items()} for graph in raw.values()]
