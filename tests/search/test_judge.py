"""necksearch.search.judge without training: what a stand-alone training costs (from a fidelity run's study), the
supernet judgement's results, costs, rankers entries and pooling."""
import datetime
import json
from types import SimpleNamespace

import optuna
import pytest

from necksearch.search.judge import stand_alone_cpu_seconds
from necksearch.train.fidelity import Fidelity

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _add_training(study, wall_s, cpu_s=None, state=optuna.trial.TrialState.COMPLETE):
    start = datetime.datetime(2026, 11, 30, 1, 0, 0)
    study.add_trial(optuna.trial.FrozenTrial(
        number=0, trial_id=0, state=state, value=0.2 if state == optuna.trial.TrialState.COMPLETE else None,
        datetime_start=start, datetime_complete=start + datetime.timedelta(seconds=wall_s), params={},
        distributions={}, user_attrs={} if cpu_s is None else {"cpu_seconds": cpu_s}, system_attrs={},
        intermediate_values={}))


@pytest.fixture()
def run(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    studies = {name: optuna.create_study(study_name=name, storage=storage) for name in ("low-seed0", "high-seed0")}
    return SimpleNamespace(run_dir=tmp_path, cpus_per_trial=2.0), studies


def test_recorded_cpu_time_is_the_cost_where_trainings_recorded_it(run):
    fidelity, studies = run
    _add_training(studies["low-seed0"], wall_s=900, cpu_s=200.0)  # slowed by other work: its wall time says 1800
    _add_training(studies["low-seed0"], wall_s=300, cpu_s=400.0)
    _add_training(studies["low-seed0"], wall_s=600)  # an older trial without the record: left out
    _add_training(studies["high-seed0"], wall_s=5000, cpu_s=5000.0)  # the other fidelity: not this cost
    seconds, basis = stand_alone_cpu_seconds(fidelity)
    assert seconds == pytest.approx(300.0) and basis == "process CPU time of 2 trainings"


def test_older_runs_fall_back_to_wall_time_times_cpus_and_say_so(run):
    fidelity, studies = run
    _add_training(studies["low-seed0"], wall_s=100)
    _add_training(studies["low-seed0"], wall_s=300)
    _add_training(studies["low-seed0"], wall_s=50, state=optuna.trial.TrialState.FAIL)
    seconds, basis = stand_alone_cpu_seconds(fidelity)
    assert seconds == pytest.approx(400.0) and basis.startswith("wall time × CPUs of 2 trainings")


def test_a_run_without_finished_trainings_has_no_cost(run):
    fidelity, _ = run
    assert stand_alone_cpu_seconds(fidelity) == (None, "no finished training")


# ---------------------------------------------------------------------------------------------- the judgement

#: Six graphs in two templates, small enough to rank by hand (stand-alone mean mAP, supernet mAP, neck params).
#: pyramid: supernet orders p1 > p3 > p2, training p1 > p2 > p3: 2 concordant pairs, 1 discordant → τ 1/3;
#: rank differences 0, 1, 1 → ρ = 1 − 6·2 / (3·8) = 0.5. fpt: the same order → τ = ρ = 1. All six, by training
#: p1 f1 p2 f2 p3 f3: 11 concordant pairs of 15, 4 discordant → τ 7/15; Σd² = 14 → ρ = 1 − 6·14 / (6·35) = 0.6.
#: Params rise p1 < p2 < p3 < f1 < f2 < f3: 3 concordant, 12 discordant → τ −0.6; Σd² = 60 →
#: ρ = 1 − 6·60 / (6·35) = −5/7.
GRAPHS = {"p1": (0.30, 0.03, 100), "p2": (0.20, 0.01, 200), "p3": (0.10, 0.02, 300),
          "f1": (0.25, 0.20, 400), "f2": (0.15, 0.10, 500), "f3": (0.05, 0.00, 600)}
TEMPLATES = {"pyramid": ["p1", "p2", "p3"], "fpt": ["f1", "f2", "f3"]}
LOW = {"epochs": 3, "image_size": 128, "data_fraction": 1.0}


@pytest.fixture()
def judged(run):
    """``supernet_results`` on the six graphs: each scored in 4 + 1 CPU-seconds, supernets trained in 300 + 500, stand-alone
    trainings recorded at 200 and 400 CPU-seconds."""
    from necksearch.search.judge import supernet_results
    fidelity, studies = run
    fidelity.low = Fidelity.of(LOW)
    _add_training(studies["low-seed0"], wall_s=900, cpu_s=200.0)
    _add_training(studies["low-seed0"], wall_s=900, cpu_s=400.0)
    scored = {name: {"bbox_mAP": sn, "params": float(params), "cpu_s": 4.0, "setup_cpu_s": 1.0}
              for name, (_, sn, params) in GRAPHS.items()}
    measured = {name: mean for name, (mean, _, _) in GRAPHS.items()}
    trained = {"pyramid": {"cpu_seconds": 300.0}, "fpt": {"cpu_seconds": 500.0}}
    # what judge() puts around a ranker's own results
    return {"run": str(fidelity.run_dir), "fidelity": LOW, "config": "faster-rcnn_x_synth.py", "graphs": 6,
            "mean_map": measured, **supernet_results(fidelity, 6, measured, scored, trained, TEMPLATES)}


def test_the_judgement_correlates_pooled_per_template_and_params(judged):
    correlation = judged["correlation"]
    assert list(correlation) == ["supernet", "params", "supernet (pyramid only)", "supernet (fpt only)"]
    assert correlation["supernet (pyramid only)"] == {"tau": pytest.approx(1 / 3), "rho": pytest.approx(0.5), "n": 3}
    assert correlation["supernet (fpt only)"] == {"tau": pytest.approx(1.0), "rho": pytest.approx(1.0), "n": 3}
    assert correlation["supernet"] == {"tau": pytest.approx(7 / 15), "rho": pytest.approx(0.6), "n": 6}
    assert correlation["params"] == {"tau": pytest.approx(-0.6), "rho": pytest.approx(-5 / 7), "n": 6}
    assert judged["templates"] == TEMPLATES and judged["graphs"] == 6 and judged["config"] == "faster-rcnn_x_synth.py"
    assert judged["supernet_map"]["f1"] == 0.20 and judged["mean_map"]["p3"] == 0.10 and judged["fidelity"] == LOW


def test_the_judgement_s_cost_arithmetic(judged):
    from necksearch.search.judge import ranked_cost, supernet_markdown
    assert judged["cost"] == {"supernet_training_cpu_s": 800.0, "scoring_cpu_s": 30.0, "scoring_cpu_s_per_graph": 5.0,
                              "stand_alone_cpu_s_per_graph": pytest.approx(300.0),
                              "stand_alone_measured_by": "process CPU time of 2 trainings"}
    assert ranked_cost(judged, 100) == pytest.approx(800 / 100 + 5)     # 13: the supernets' training shared by 100
    assert ranked_cost(judged, 6) == pytest.approx(800 / 6 + 5)         # 138.3
    assert ("supernet training 800 in all, scoring 5.0 per graph (loading included); per ranked architecture 138 "
            "for these 6, 13 for 100; stand-alone training 300 per graph (process CPU time of 2 trainings).") \
        in supernet_markdown(judged)


def test_ranker_entries_are_one_per_template_at_the_stored_rounding(judged):
    from necksearch.search.judge import supernet_entries
    common = {"ranker": "supernet", "config": "faster-rcnn_x_synth.py", **LOW, "supernet_epochs": 6,
              "source": "benchmarks/results/supernet.md"}
    assert supernet_entries(judged) == [
        {**common, "template": "pyramid", "tau": 0.333, "rho": 0.5, "graphs": 3, "best_supernet_map": 0.03},
        {**common, "template": "fpt", "tau": 1.0, "rho": 1.0, "graphs": 3, "best_supernet_map": 0.20}]


def test_a_template_too_small_to_rank_gets_no_entry(judged):
    from necksearch.search.judge import correlations, supernet_entries
    templates = {"pyramid": ["p1", "p2"], "fpt": ["f1", "f2", "f3"]}  # two graphs: no τ
    names = [*templates["pyramid"], *templates["fpt"]]
    small = {**judged, "templates": templates,
             "correlation": correlations(judged["mean_map"], {n: judged["supernet_map"][n] for n in names},
                                         judged["params"], templates)}
    assert small["correlation"]["supernet (pyramid only)"] == {"tau": None, "rho": None, "n": 2}
    assert [entry["template"] for entry in supernet_entries(small)] == ["fpt"]


def _judgement(run, graphs, templates):
    """A judgement's results (what ``supernet_results`` keeps of it) of ``graphs``: name → (stand-alone, supernet, params)."""
    from necksearch.search.judge import correlations
    mean_map, supernet_map = {n: g[0] for n, g in graphs.items()}, {n: g[1] for n, g in graphs.items()}
    params = {n: float(g[2]) for n, g in graphs.items()}
    return {"run": run, "fidelity": LOW, "supernet_epochs": 6, "config": "faster-rcnn_x_synth.py",
            "templates": templates, "mean_map": mean_map, "supernet_map": supernet_map, "params": params,
            "correlation": correlations(mean_map, supernet_map, params, templates)}


def test_pooled_judgements_rank_their_graphs_together():
    """Two runs with the same graph names, neither with three graphs of a template: pooled, each template has three
    (the six graphs above, so the same τ and ρ)."""
    from necksearch.search.judge import pool_supernet_results, supernet_entries
    first = _judgement("runs/fidelity/grid2", {"s0": GRAPHS["p1"], "s1": GRAPHS["p2"], "s2": GRAPHS["f1"]},
                       {"pyramid": ["s0", "s1"], "fpt": ["s2"]})
    second = _judgement("/elsewhere/runs/fidelity/heldout1",
                        {"s0": GRAPHS["p3"], "s1": GRAPHS["f2"], "s2": GRAPHS["f3"]},
                        {"pyramid": ["s0"], "fpt": ["s1", "s2"]})
    pooled = pool_supernet_results([first, second])
    assert pooled["templates"] == {"pyramid": ["grid2/s0", "grid2/s1", "heldout1/s0"],
                                   "fpt": ["grid2/s2", "heldout1/s1", "heldout1/s2"]}
    assert pooled["graphs"] == 6 and pooled["mean_map"]["heldout1/s0"] == 0.10 and "cost" not in pooled
    correlation = pooled["correlation"]
    assert correlation["supernet"] == {"tau": pytest.approx(7 / 15), "rho": pytest.approx(0.6), "n": 6}
    assert correlation["params"] == {"tau": pytest.approx(-0.6), "rho": pytest.approx(-5 / 7), "n": 6}
    entries = supernet_entries(pooled)
    assert [(e["template"], e["tau"], e["rho"], e["graphs"], e["best_supernet_map"]) for e in entries] == [
        ("pyramid", 0.333, 0.5, 3, 0.03), ("fpt", 1.0, 1.0, 3, 0.2)]
    assert supernet_entries(first) == [] == supernet_entries(second)  # neither alone ranks a template


@pytest.mark.parametrize("change, message", [
    ({"fidelity": {**LOW, "data_fraction": 0.5}}, "different fidelity"),
    ({"supernet_epochs": 12}, "different supernet_epochs"),
    ({"config": "other.py"}, "different config"),
    ({"run": "/another/copy/of/grid2"}, "the same fidelity run"),
])
def test_judgements_of_different_recipes_or_the_same_run_are_not_pooled(change, message):
    from necksearch.search.judge import pool_supernet_results
    first = _judgement("runs/fidelity/grid2", {"s0": GRAPHS["p1"]}, {"pyramid": ["s0"]})
    with pytest.raises(ValueError, match=message):
        pool_supernet_results([first, {**first, **change}])


# ---------------------------------------------------------------------------------------------- any ranker


class NameLength:
    """A ranker as :func:`judge` sees one (``judge.Ranker``): it orders graphs by the length of their names."""

    results_file = "name_length_results"

    def judge(self, run, say):
        from necksearch.search.rank.statistics import rank_correlation
        names = list(run.samples)
        say(f"measuring {len(names)} names ...")
        return {"correlation": {"name_length": rank_correlation([len(n) for n in names],
                                                                [run.measured[n] for n in names])}}

    def entries(self, results):
        return [{"ranker": "name_length", "tau": results["correlation"]["name_length"]["tau"]}]

    def markdown(self, results):
        return f"name length: τ {results['correlation']['name_length']['tau']:+.2f}\n"


def test_judge_holds_any_ranker_to_the_trainings_of_a_fidelity_run(tmp_path, monkeypatch):
    import contextlib

    from necksearch.search import fidelity as fidelity_module
    from necksearch.search.engine import run as run_module
    from necksearch.search.fidelity import FidelitySettings
    from necksearch.search.judge import judge
    settings = FidelitySettings(graphs=("fpn", "pafpn"), name="fid", runs_dir=str(tmp_path))
    settings.run_dir.mkdir()
    measured = {"a": 0.1, "bbb": 0.3, "cc": 0.2}
    low_maps = {name: {0: value} for name, value in measured.items()}  # one seed each: its mean is that mAP
    monkeypatch.setattr(fidelity_module, "trained_table", lambda run_dir: (settings, None, dict.fromkeys(measured, {}),
                                                                           low_maps))
    monkeypatch.setattr(run_module, "ray_session", lambda search: contextlib.nullcontext())
    said = []
    results = judge(settings.run_dir, NameLength(), say=said.append)
    assert results["correlation"]["name_length"]["tau"] == pytest.approx(1.0)
    assert results["rankers"] == [{"ranker": "name_length", "tau": pytest.approx(1.0)}]
    assert results["fidelity"] == {"epochs": 3, "image_size": 128, "data_fraction": 1.0} and results["graphs"] == 3
    assert results["config"] == "faster-rcnn_effnet-lite0_fpn_synth.py" and results["mean_map"] == measured
    assert said == ["measuring 3 names ...", "name length: τ +1.00\n"]
    stored = json.loads((settings.run_dir / "name_length_results.json").read_text())
    assert stored["rankers"] == [{"ranker": "name_length", "tau": 1.0}]
    assert (settings.run_dir / "name_length_results.md").read_text() == said[-1]
